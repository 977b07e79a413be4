"""Searches: which configurations a sweep trains.

A *choice* maps each varied factor (a config path such as ``model.op``) to a value; the
spec turns it into a `TrialConfig`. Three searches, chosen by ``search.kind``:

- `GridSearch` (default): every combination, in the file's order;
- `RandomSearch`: ``n_trials`` distinct combinations drawn with ``search.seed``;
- `OptunaSearch`: an Optuna sampler (TPE, NSGA-II for several objectives, …) asked for a
  choice and told the mean over seeds of each objective, in ask-and-tell form; the store
  stays the only record, so on resume the sampler is told again what the store holds.

``search.plan: {template, task, input, top}`` adds the factor ``plan``: the planner's best
``top`` stride plans for the template, each trained as a layer spec (model family
``spec``) beside the other factors.

>>> from stridekit.experiments.spec import SweepSpec
>>> spec = SweepSpec.parse('''
... dataset: synthetic-detail
... vary: {op: [conv, max_pool], kernel: [3, 5]}
... search: {kind: random, n_trials: 2, seed: 1}
... ''')
>>> grid = list(GridSearch(spec).choices())
>>> grid[0], len(grid)
({'model.op': 'conv', 'model.kernel': 3}, 4)
>>> picked = list(make_search(spec).choices())
>>> len(picked), all(choice in grid for choice in picked)
(2, True)
"""

from __future__ import annotations

import json
import math
import random
from abc import ABC, abstractmethod
from collections.abc import Iterator, Mapping, Sequence
from fractions import Fraction
from typing import Any, ClassVar

from stridekit.errors import ChoiceError, SweepSpecError, UsageError
from stridekit.experiments.spec import PlanSearchConfig, SweepSpec, TrialConfig

PLAN = "plan"  # the factor of the planner's plans


class Search(ABC):
    """Proposes choices; adaptive searches are told how each configuration did."""

    adaptive = False

    def __init__(self, spec: SweepSpec) -> None:
        self.spec = spec
        self.space = factor_space(spec)

    @abstractmethod
    def choices(self) -> Iterator[dict[str, Any]]:
        """The choices to train, lazily (an adaptive search asks its sampler per item)."""

    def tell(self, choice: Mapping[str, Any], values: Sequence[float] | None) -> None:  # noqa: B027
        """How a configuration did: the objectives' values, or None when it failed (a
        fixed search has nothing to learn)."""

    def in_flight(self, choice: Mapping[str, Any]) -> None:  # noqa: B027
        """A stored configuration still running after a resume: it counts as asked."""

    def objectives(self) -> dict[str, str]:
        """Metric → ``max`` or ``min``, what an adaptive search optimises."""
        return dict(self.spec.search.objectives)


class GridSearch(Search):
    """Every combination of the factors (the plans included), in the file's order."""

    def choices(self) -> Iterator[dict[str, Any]]:
        yield from product(self.space)


class RandomSearch(Search):
    """``n_trials`` distinct combinations, drawn reproducibly from ``search.seed``."""

    def choices(self) -> Iterator[dict[str, Any]]:
        sizes = [len(values) for values in self.space.values()]
        total = math.prod(sizes)
        wanted = self.spec.search.n_trials or total
        generator = random.Random(self.spec.search.seed)
        # draw combination numbers, then read each as mixed-radix digits (one per factor)
        for number in generator.sample(range(total), min(wanted, total)):
            choice: dict[str, Any] = {}
            for name, values in reversed(self.space.items()):
                number, digit = divmod(number, len(values))
                choice[name] = values[digit]
            yield dict(reversed(choice.items()))


class OptunaSearch(Search):
    """An Optuna sampler in ask-and-tell form over the factors (categorical).

    ``n_trials`` counts distinct configurations; when the sampler proposes one already
    trained it is told that result again and asked anew (at most 100 times in a row).
    """

    adaptive = True
    SAMPLERS: ClassVar[dict[str, str]] = {
        "tpe": "TPESampler",
        "nsga2": "NSGAIISampler",
        "nsga3": "NSGAIIISampler",
        "random": "RandomSampler",
        "gp": "GPSampler",
        "qmc": "QMCSampler",
    }

    def __init__(self, spec: SweepSpec) -> None:
        super().__init__(spec)
        try:
            import optuna
        except ImportError:
            raise UsageError(
                "search.kind optuna needs Optuna: pip install 'stridekit[optuna]'"
            ) from None
        self.optuna = optuna
        optuna.logging.set_verbosity(optuna.logging.WARNING)
        objectives = self.objectives()
        if not objectives:
            raise SweepSpecError("search.objectives: give at least one metric: max|min")
        self.distributions: dict[str, Any] = {
            name: optuna.distributions.CategoricalDistribution([_encode(value) for value in values])
            for name, values in self.space.items()
        }
        self.study = optuna.create_study(
            directions=["maximize" if d == "max" else "minimize" for d in objectives.values()],
            sampler=self._sampler(len(objectives)),
        )
        self.limit = spec.search.n_trials or math.prod(len(v) for v in self.space.values())
        self.results: dict[str, tuple[float, ...] | None] = {}  # choice → values (None: failed)
        self.asked: dict[str, Any] = {}  # choice → its pending optuna trial

    def _sampler(self, objectives: int) -> Any:
        search = self.spec.search
        name = search.sampler or ("tpe" if objectives == 1 else "nsga2")
        if name not in self.SAMPLERS:
            choices = ", ".join(self.SAMPLERS)
            raise ChoiceError(f"search.sampler: unknown sampler {name!r}; choose one of {choices}")
        sampler_class = getattr(self.optuna.samplers, self.SAMPLERS[name])
        try:
            return sampler_class(seed=search.seed, **search.sampler_options)
        except TypeError as error:
            raise SweepSpecError(f"search.sampler_options: {error}") from None

    def tell(self, choice: Mapping[str, Any], values: Sequence[float] | None) -> None:
        """Tell the sampler (again, after a resume, when nothing asked for it)."""
        text = _choice_key(choice)
        told = None if values is None else tuple(float(v) for v in values)
        self.results[text] = told
        trial = self.asked.pop(text, None)
        state = self.optuna.trial.TrialState
        if trial is not None:
            if told is None:
                self.study.tell(trial, state=state.FAIL)
            else:
                self.study.tell(trial, list(told))
            return
        params = {name: _encode(choice[name]) for name in self.distributions}
        self.study.add_trial(
            self.optuna.trial.create_trial(
                params=params,
                distributions=self.distributions,
                values=None if told is None else list(told),
                state=state.FAIL if told is None else state.COMPLETE,
            )
        )

    def in_flight(self, choice: Mapping[str, Any]) -> None:
        self.asked.setdefault(_choice_key(choice), None)  # told later by `tell`, no trial

    def choices(self) -> Iterator[dict[str, Any]]:
        while len(self.results) + len(self.asked) < self.limit:
            for _ in range(100):
                trial = self.study.ask(self.distributions)
                choice = {
                    name: _decode(trial.params[name], self.space[name])
                    for name in self.distributions
                }
                text = _choice_key(choice)
                if text in self.results:  # trained already: the same answer again
                    told = self.results[text]
                    if told is None:
                        self.study.tell(trial, state=self.optuna.trial.TrialState.FAIL)
                    else:
                        self.study.tell(trial, list(told))
                    continue
                if text in self.asked:  # running now: nothing new to learn yet
                    self.study.tell(trial, state=self.optuna.trial.TrialState.FAIL)
                    continue
                self.asked[text] = trial
                yield choice
                break
            else:
                return  # the sampler keeps proposing what is known: the space is spent


SEARCHES: dict[str, type[Search]] = {
    "grid": GridSearch,
    "random": RandomSearch,
    "optuna": OptunaSearch,
}


def make_search(spec: SweepSpec) -> Search:
    """The search the spec asks for."""
    return SEARCHES[spec.search.kind](spec)


def product(space: Mapping[str, Sequence[Any]]) -> Iterator[dict[str, Any]]:
    """Every combination, the last factor varying fastest.

    >>> list(product({"a": [1, 2], "b": ["x"]}))
    [{'a': 1, 'b': 'x'}, {'a': 2, 'b': 'x'}]
    """
    choices: list[dict[str, Any]] = [{}]
    for name, values in space.items():
        choices = [{**choice, name: value} for choice in choices for value in values]
    yield from choices


def factor_space(spec: SweepSpec) -> dict[str, list[Any]]:
    """The spec's factors, and ``plan`` with the planner's plans when ``search.plan``."""
    space = spec.space()
    if spec.search.plan is not None:
        space[PLAN] = planner_plans(spec.search.plan, _input_channels(spec))
    return space


def planner_plans(options: PlanSearchConfig, input_channels: int = 3) -> list[dict[str, Any]]:
    """The planner's best ``top`` plans as factor values: a name, the strides, and the
    layer spec to train (``spec``).

    >>> plans = planner_plans(PlanSearchConfig(template="plain6", task="classification",
    ...                                        input=32, top=2))
    >>> [(p["name"], p["strides"]) for p in plans]  # the preset prefers no 4x drop
    [('plan 1', [2, 1, 2, 2, 2, 2]), ('plan 2 (flop-optimal)', [2, 2, 2, 2, 2, 1])]
    >>> plans[1]["flops"] < plans[0]["flops"]
    True
    >>> convs = [layer for layer in plans[0]["spec"]["layers"] if layer["type"] == "conv"]
    >>> [layer["stride"] for layer in convs] == plans[0]["strides"]
    True
    """
    from stridekit.design.plan_report import plan_report, plan_spec
    from stridekit.design.presets import family, load_template, task_constraints, with_volume_drop

    if options.template.endswith((".yaml", ".yml", ".json")):
        layers, _ = load_template(options.template)
    else:
        layers = family(options.template)
    constraints = task_constraints(options.task, options.input)
    if options.max_volume_drop is not None:  # a hard limit; 0 lifts the preset's preference
        drop = options.max_volume_drop
        limit = Fraction(drop).limit_denominator(1000) if drop else None
        constraints = with_volume_drop(constraints, limit)
    report = plan_report(
        options.template,
        layers,
        options.input,
        constraints,
        input_channels=input_channels,
        top=options.top,
        task=options.task,
    )
    chosen = [(f"plan {rank}", plan) for rank, plan in enumerate(report.plans, 1)]
    bottleneck = constraints.max_volume_drop or constraints.preferred_volume_drop
    if bottleneck is not None:  # a bottleneck rule is on
        # the FLOP-optimal plan without it: what the rule is measured against
        free = plan_report(
            options.template,
            layers,
            options.input,
            with_volume_drop(constraints, None),
            input_channels=input_channels,
            top=1,
        ).plans[0]
        same = [i for i, (_, plan) in enumerate(chosen) if plan.steps == free.steps]
        if same:  # the preference ranked it among the top: say which one it is
            chosen[same[0]] = (f"{chosen[same[0]][0]} (flop-optimal)", free)
        else:
            chosen.append(("flop-optimal (no bottleneck rule)", free))
    values = []
    for name, plan in chosen:
        spec = trainable(plan_spec(report.template, plan, options.input, input_channels))
        values.append(
            {
                "name": name,
                "strides": [step.stride for step in plan.steps],
                "flops": 2 * plan.macs,
                "spec": {**spec, "name": name},
            }
        )
    return values


def trainable(spec: dict[str, Any]) -> dict[str, Any]:
    """A plan's layer spec with a norm (GroupNorm(1, C)) and a ReLU after each conv: the
    planner writes the convs alone (all the geometry needs), and a chain of convs alone is
    one linear map. Both layers move no pixel, so the analysis of the spec is unchanged.

    >>> [layer["type"] for layer in trainable({"layers": [{"type": "conv"},
    ...                                                    {"type": "global_pool"}]})["layers"]]
    ['conv', 'norm', 'relu', 'global_pool']
    """
    layers: list[dict[str, Any]] = []
    for layer in spec["layers"]:
        layers.append(layer)
        if layer.get("type") == "conv":
            layers += [{"type": "norm"}, {"type": "relu"}]
    return {**spec, "layers": layers}


def _input_channels(spec: SweepSpec) -> int:
    from stridekit.experiments.datasets import dataset_info

    return dataset_info(spec.dataset).channels


def choice_config(spec: SweepSpec, choice: Mapping[str, Any]) -> TrialConfig:
    """The trial config of a choice (a plan becomes model family ``spec`` and its layers)."""
    settings = {name: value for name, value in choice.items() if name != PLAN}
    plan = choice.get(PLAN)
    if plan is not None:
        settings |= {"model.family": "spec", "model.spec": plan["spec"]}
        if spec.search.plan is not None:
            settings["input_size"] = spec.search.plan.input
    return spec.config(settings)


def choice_factors(choice: Mapping[str, Any]) -> dict[str, Any]:
    """What the store keeps of a choice to show it: a plan's name, strides and FLOPs.

    >>> choice_factors({"model.op": "conv", "plan": {"name": "plan 1", "strides": [2],
    ...                 "flops": 10, "spec": {"layers": []}}})
    {'model.op': 'conv', 'plan': {'name': 'plan 1', 'strides': [2], 'flops': 10}}
    """
    return {
        name: {k: v for k, v in value.items() if k != "spec"} if name == PLAN else value
        for name, value in choice.items()
    }


def _encode(value: Any) -> Any:
    """A factor value as an Optuna categorical choice (a plan by its name)."""
    if isinstance(value, dict) and "name" in value:
        return value["name"]
    if value is None or isinstance(value, bool | int | float | str):
        return value
    return json.dumps(value, sort_keys=True)


def _decode(encoded: Any, values: Sequence[Any]) -> Any:
    for value in values:
        if _encode(value) == encoded:
            return value
    raise KeyError(encoded)  # unreachable: Optuna only proposes the choices it was given


def _choice_key(choice: Mapping[str, Any]) -> str:
    return json.dumps({k: _encode(v) for k, v in choice.items()}, sort_keys=True)
