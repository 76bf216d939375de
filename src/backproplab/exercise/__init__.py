"""The assignment as an exercise: starter code to fill in, checks that say what is wrong, grading.

- :mod:`~backproplab.exercise.items` -- the items in the assignment's order and their points (one table).
- :mod:`~backproplab.exercise.starter` -- the workspace, generated from the reference's signatures and docstrings.
- :mod:`~backproplab.exercise.part1` -- the checks of part 1, run in a child process (:mod:`.sandbox`).
- :mod:`~backproplab.exercise.diagnoses` -- which common mistake explains a wrong answer.
- :mod:`~backproplab.exercise.grading` and :mod:`.packing` -- many submissions graded; one handed in.
"""
