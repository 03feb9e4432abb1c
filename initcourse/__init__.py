"""initcourse: the package behind the executable course on weight initialization.

Numpy-only modules (never import TensorFlow): :mod:`initcourse.theory`,
:mod:`initcourse.initializers`, :mod:`initcourse.propagation`,
:mod:`initcourse.meanfield`, :mod:`initcourse.plotting`, :mod:`initcourse.exercises`.
Keras modules (import TensorFlow on use): :mod:`initcourse.keras_initializers`,
:mod:`initcourse.lsuv`, :mod:`initcourse.training`, :mod:`initcourse.diagnostics`,
:mod:`initcourse.data`.

Importing ``initcourse`` itself imports nothing heavy; import the submodule you need.
"""

__version__ = "0.1.0"
