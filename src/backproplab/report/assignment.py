"""The assignment map at the top of the page: every item, its one-line answer, links to the evidence.

Sections give the answers (``ctx.answer("1a", ...)``) from their finished results; an item no
built section answers says which section would, or that it has not been run yet.
"""

from __future__ import annotations

from collections.abc import Mapping

from backproplab.report.html import Section, Text, code

#: (item, what the assignment asks), in the assignment's order.
ITEMS: tuple[tuple[str, str], ...] = (
    ("1a", "Generate and plot the Make-Moons data set"),
    ("1b", "Activation functions (tanh, sigmoid, ReLU) and their derivatives"),
    ("1c", "The three-layer network: forward pass and loss"),
    ("1d", "Backpropagation: the gradients, checked"),
    ("1e", "Train: compare activations and hidden layer sizes"),
    ("1f", "Deeper networks, the design choices and why, another data set"),
    ("2a", "A deep convolutional network on MNIST and its test accuracy"),
    ("2b", "Monitoring the training in TensorBoard"),
    ("2c", "Nonlinearities, initialisations and training algorithms (sweeps)"),
)

#: Items that no section of the report covers yet, and what the map says for them.
NOT_YET: dict[str, str] = {}


def assignment_map(answers: Mapping[str, Text], owners: Mapping[str, str]) -> Section:
    """The map: ``answers`` by item from the built sections; ``owners``: item -> section name that answers it."""
    section = Section("Assignment map: where each question is answered", "assignment-map")
    rows = []
    for item, question in ITEMS:
        if item in answers:
            answer = answers[item]
        elif item in owners:
            answer = code(f"not in this build: add --sections {owners[item]}")
        else:
            answer = NOT_YET.get(item, "Not yet answered.")
        rows.append([item, question, answer])
    section.table(
        ["item", "the assignment asks", "answer (from this build's numbers) and where"],
        rows,
        anchor="map",
        css_class="map",
    )
    return section
