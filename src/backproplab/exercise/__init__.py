"""The assignment as an exercise: starter code to fill in, checks that say what is wrong, grading.

- :mod:`~backproplab.exercise.items` -- the items in the assignment's order and their points (one table).
- :mod:`~backproplab.exercise.handout` -- what the starter files hold, declared by the reference functions they mirror.
- :mod:`~backproplab.exercise.starter` -- their text, from the reference's signatures and docstrings.
- :mod:`~backproplab.exercise.workspace` -- the learner's folder: written fresh, never over work.
- :mod:`~backproplab.exercise.part1`, :mod:`.part2` -- the checks, run in a limited child process (:mod:`.sandbox`).
- :mod:`~backproplab.exercise.diagnoses` -- which common mistake explains a wrong answer.
- :mod:`~backproplab.exercise.grading`, :mod:`.packing` -- many submissions graded; one handed in.
- :mod:`~backproplab.exercise.implementation` -- the learner's network in the report.
"""
