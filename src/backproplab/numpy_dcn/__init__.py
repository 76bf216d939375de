"""The NumPy engine of the MNIST network: conv layers (:mod:`.conv`), the :class:`ConvNet` built from
them (:mod:`.convnet`), its engine for the shared run loop (:mod:`.engine`), its checkpoint
(:mod:`.checkpoint`) and the step-by-step twin the equivalence checks drive (:mod:`.check`).
Backprop written by hand on :mod:`backproplab.scratch`; this package never imports torch.
"""
