"""Pushing an export folder to the Hugging Face Hub (`ptune-exp-export RUN_DIR --push-to-hub REPO_ID`).

`huggingface_hub` creates the model repository if it is not there (`create_repo(exist_ok=True)`) and
uploads the folder in one commit (`upload_folder`): the model card README.md, export.json and
weights.safetensors. The token is the caller's, or else the one `hf auth login` saved (or `HF_TOKEN`);
the endpoint is `HF_ENDPOINT`'s. What goes wrong (no token, offline, refused, unreachable) ends in a
PtuneError of one line.
"""

from __future__ import annotations

from ptune_exp.errors import PtuneError


def push_to_hub(folder: str, repo_id: str, private: bool = False, token: str | None = None) -> str:
    """Upload `folder` to the model repository `repo_id`; returns the repository's URL. `private` makes a
    new repository private (otherwise the namespace's default applies); an existing one keeps its own."""
    from huggingface_hub import HfApi, get_token

    token = token or get_token()
    if not token:
        raise PtuneError(
            f"no Hugging Face token to push to {repo_id}: run `hf auth login` or set HF_TOKEN (a token with "
            "write access), then push again"
        )
    api = HfApi(token=token)
    try:
        url = api.create_repo(repo_id, private=private or None, exist_ok=True, repo_type="model")
        api.upload_folder(
            repo_id=url.repo_id or repo_id,  # as the Hub resolved it (a bare name lands in the token's namespace)
            folder_path=folder,
            repo_type="model",
            commit_message="Upload a ptune-exp export (model card, export.json, weights.safetensors)",
        )
    except Exception as e:  # the Hub, the network or the repo id: one line that says which
        raise PtuneError(f"could not push {folder} to {repo_id}: {_why(e, api.endpoint)}") from None
    return str(url)


def _why(error: Exception, endpoint: str) -> str:
    from huggingface_hub.errors import HfHubHTTPError, HFValidationError, OfflineModeIsEnabled

    text = " ".join(str(error).split())[:300]
    if isinstance(error, OfflineModeIsEnabled):
        return "HF_HUB_OFFLINE is set; unset it to push"
    if isinstance(error, HFValidationError):
        return f"not a repository id (give owner/name): {text}"
    if isinstance(error, HfHubHTTPError):
        status = error.response.status_code if error.response is not None else "no"
        hint = " (is the token valid, with write access to that namespace?)" if status in (401, 403) else ""
        return f"the Hub answered {status}{hint}: {text}"
    if isinstance(error, ValueError):  # e.g. the Hub found the model card's metadata invalid
        return text
    return f"{endpoint} could not be reached or did not answer as the Hub does ({type(error).__name__}: {text})"
