"""The LitServe API of `ptune-exp-serve` (server.py): LitServe pickles it into its inference worker process,
where `setup` loads the backbone and the exports once; LitServe batches the requests
(max_batch_size, batch_timeout) and calls `predict` with a batch of them, whatever their tasks."""

from __future__ import annotations

import litserve as ls

from ptune_exp.serve.batch import answers, job_from_list, run_jobs
from ptune_exp.serve.limits import ignore_stop_signals
from ptune_exp.serve.registry import load_registry
from ptune_exp.tasks.text import cut_texts


class PromptAPI(ls.LitAPI):
    """Requests -> jobs (read and tokenized) -> mixed (or per-task) forwards -> predictions per request."""

    def __init__(self, specs: list[str], max_rows: int, per_task: bool, trust: bool, max_chars: int, **batching):
        super().__init__(**batching)
        self.specs, self.max_rows, self.per_task, self.trust = specs, max_rows, per_task, trust
        self.max_chars = max_chars

    def setup(self, device):
        from datasets.utils.logging import disable_progress_bar

        disable_progress_bar()
        ignore_stop_signals()  # the main process stops this worker once the requests in flight are answered
        self.registry = load_registry(self.specs, strict=True, trust_remote_code=self.trust, device=device)

    def decode_request(self, request):
        inputs, cut = cut_texts(request["inputs"], self.max_chars)  # before tokenizing (serve/limits.py)
        job = job_from_list(self.registry.tasks[request["task"]], inputs)
        job.truncated = sorted(set(job.truncated) | set(cut))
        return job

    def batch(self, jobs):
        return jobs

    def predict(self, jobs):
        run_jobs(self.registry, jobs, self.max_rows, mixed=not self.per_task)
        return [(job.task.name, answers(job)) for job in jobs]

    def unbatch(self, outputs):
        return outputs

    def encode_response(self, output):
        return {"task": output[0], "predictions": output[1]}
