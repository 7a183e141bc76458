"""Multi-task runs (`task=multi`): the plan's side (spec) and the training side (family)."""
