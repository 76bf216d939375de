"""The names a user can choose, without importing torch (the CLI builds its help from these).

:mod:`backproplab.dcn.model` and :mod:`backproplab.dcn.optim` hold the registries themselves, keyed
by exactly these names (a test checks that they agree).
"""

ACTIVATION_NAMES = ("relu", "tanh", "sigmoid", "leaky_relu", "elu", "gelu", "maxout")
INIT_NAMES = (
    "truncated_normal",
    "xavier_uniform",
    "xavier_normal",
    "he_normal",
    "he_uniform",
    "orthogonal",
    "lecun_normal",
)
#: Optimizer name -> default learning rate (see :mod:`backproplab.dcn.optim` for why).
OPTIMIZER_DEFAULT_LRS = {
    "sgd": 1e-2,
    "momentum": 1e-2,
    "nesterov": 1e-2,
    "adagrad": 3e-3,
    "adadelta": 1.0,
    "rmsprop": 1e-4,
    "adam": 1e-4,
    "adamw": 1e-4,
}
#: "auto": bf16 where the hardware does it natively, else fp32 (see :mod:`backproplab.hardware`).
PRECISIONS = ("auto", "fp32", "bf16")
