"""The trainer of a multi-task run (`task=multi`): the project's `PromptTrainer`, with training batches
from `TaskSampler` (one member task per batch) and an evaluation that scores each member's split with
its own family's scorer and reports them together: `<member>/<metric>` for every member metric, and
`mean`, the mean of the members' main metrics (what dev selection reads)."""

from __future__ import annotations

import statistics

from torch.utils.data import ConcatDataset

from ptune_exp.errors import PtuneError
from ptune_exp.pipeline.trainer import PromptTrainer, strip_prefix
from ptune_exp.tasks.multi.family import MultiScorer, TaskSampler, train_sizes


class MultiTrainer(PromptTrainer):
    """`train_dataset` and `eval_dataset` are dicts member -> features (in member order); `weights` are the
    sampling rule's p_i."""

    def __init__(self, *args, train_dataset=None, weights=None, **kwargs):
        if "args" in kwargs:  # under DDP: the heads of the other members get no gradient in a batch
            kwargs["args"].ddp_find_unused_parameters = True
        members = train_dataset or {}
        concat = ConcatDataset(list(members.values())) if members else None
        super().__init__(*args, train_dataset=concat, **kwargs)
        self.sampler = (
            TaskSampler(train_sizes(members), self._train_batch_size, weights, self.args.seed) if members else None
        )

    def _get_train_sampler(self, train_dataset=None):
        return self.sampler

    def evaluate(self, eval_dataset=None, ignore_keys=None, metric_key_prefix: str = "eval") -> dict:
        splits = eval_dataset if eval_dataset is not None else self.eval_dataset
        scorer = self.compute_metrics
        if not isinstance(scorer, MultiScorer):
            raise PtuneError("a multi-task evaluation needs the members' scorers (MultiScorer) as compute_metrics")
        metrics = {}
        for name, member in scorer.members.items():
            self.compute_metrics = member
            try:
                loader = self.get_eval_dataloader(splits[name])
                out = self.evaluation_loop(loader, f"Evaluation of {name}", None, ignore_keys, metric_key_prefix)
            finally:
                self.compute_metrics = scorer
            metrics |= {
                f"{metric_key_prefix}_{name}/{k}": v for k, v in strip_prefix(out.metrics, metric_key_prefix).items()
            }
        scorer.predictions = {name: member.predictions for name, member in scorer.members.items()}
        metrics[f"{metric_key_prefix}_mean"] = _mean(metrics, scorer, metric_key_prefix)
        self.log(metrics)
        self.control = self.callback_handler.on_evaluate(self.args, self.state, self.control, metrics)
        return metrics


def _mean(metrics: dict, scorer: MultiScorer, prefix: str) -> float:
    """The mean of the evaluated members' main metrics."""
    values = []
    for name in scorer.members:
        key = f"{prefix}_{name}/{scorer.main[name]}"
        if key not in metrics:
            raise PtuneError(f"the evaluation of member task {name} returned no {scorer.main[name]!r}")
        values.append(metrics[key])
    return statistics.fmean(values)
