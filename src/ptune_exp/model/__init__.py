"""The architecture axis: loading backbones (hub, folder, offline package, tiny random), their dropout and
compilation, and building the trained model (backbone + the method's prompt + the task family's head)."""
