"""The ledger: per stage and language, how many records came in, were kept, and were dropped and why.

Counts are taken where records are written (kept rows into a part, dropped rows into rejects), not
derived from each other, so a record lost anywhere shows up as an imbalance:

* within a stage and language: in = kept + sum(dropped);
* along the flow of stages: what the stages upstream of a stage pass on, it takes in (in total over
  languages, because language identification moves records between languages).

A stage passes on what it keeps, unless it changes the unit of counting: sentence alignment takes
in sentences and passes on sentence pairs, so it also records `out`.
"""

from __future__ import annotations

import dataclasses
import json
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence

IN, KEPT, OUT = "in", "kept", "out"
DROPPED = "dropped:"

#: (stage, lang, outcome) -> count, where outcome is "in", "kept" or "dropped:<reason>".
Counts = Mapping[tuple[str, str, str], int]


class LedgerError(RuntimeError):
    """The ledger does not balance: records were lost or invented somewhere."""


def merge_counts(parts: Iterable[Counts]) -> Counter:
    total: Counter = Counter()
    for counts in parts:
        total.update(counts)
    return total


@dataclasses.dataclass(frozen=True)
class LedgerRow:
    stage: str
    lang: str
    num_in: int
    num_kept: int
    dropped: dict[str, int]
    num_out: int | None = None  # records passed on, when the stage changes the unit of counting

    @property
    def num_dropped(self) -> int:
        return sum(self.dropped.values())


#: stage -> the stages whose output it takes in, in display order.
StageGraph = Mapping[str, Sequence[str]]


def chain(*stages: str) -> dict[str, list[str]]:
    """A stage graph where each stage takes in what the one before it passes on."""
    return {stage: ([stages[i - 1]] if i else []) for i, stage in enumerate(stages)}


class Ledger:
    """Counts of a whole build, over its graph of stages."""

    def __init__(self, graph: StageGraph, counts: Counts):
        unknown = {stage for stage, _, _ in counts} - set(graph)
        if unknown:
            raise LedgerError(f"counts for unknown stages: {sorted(unknown)}")
        self.graph = {stage: list(upstream) for stage, upstream in graph.items()}
        self.counts = Counter(counts)

    @property
    def stages(self) -> list[str]:
        return list(self.graph)

    def rows(self) -> list[LedgerRow]:
        by_key: dict[tuple[str, str], dict[str, int]] = {}
        for (stage, lang, outcome), n in self.counts.items():
            by_key.setdefault((stage, lang), {})[outcome] = n
        rows = []
        for stage in self.stages:
            for lang in sorted(lang for s, lang in by_key if s == stage):
                outcomes = by_key[(stage, lang)]
                dropped = {o[len(DROPPED) :]: n for o, n in sorted(outcomes.items()) if o.startswith(DROPPED)}
                rows.append(
                    LedgerRow(stage, lang, outcomes.get(IN, 0), outcomes.get(KEPT, 0), dropped, outcomes.get(OUT))
                )
        return rows

    def total(self, stage: str, outcome: str) -> int:
        return sum(n for (s, _, o), n in self.counts.items() if s == stage and o == outcome)

    def passed_on(self, stage: str) -> int:
        """What a stage hands to the stages after it: its `out` count if it changes units, else what it keeps."""
        has_out = any(s == stage and o == OUT for s, _, o in self.counts)
        return self.total(stage, OUT if has_out else KEPT)

    def total_dropped(self) -> int:
        return sum(n for (_, _, o), n in self.counts.items() if o.startswith(DROPPED))

    def imbalances(self) -> list[str]:
        """Every way the counts fail to balance, as sentences; empty when the ledger is exact."""
        problems = [
            f"stage {r.stage!r}, language {r.lang!r}: {r.num_in} in != {r.num_kept} kept + {r.num_dropped} dropped"
            for r in self.rows()
            if r.num_in != r.num_kept + r.num_dropped
        ]
        for stage, upstream in self.graph.items():
            if not upstream:
                continue
            passed, taken = sum(self.passed_on(u) for u in upstream), self.total(stage, IN)
            if passed != taken:
                problems.append(
                    f"{' + '.join(map(repr, upstream))} passed on {passed} records but {stage!r} took in {taken}"
                )
        return problems

    def check(self) -> None:
        problems = self.imbalances()
        if problems:
            raise LedgerError("the ledger does not balance:\n  " + "\n  ".join(problems))

    def to_json(self) -> dict:
        return {
            "flow": self.graph,  # the file's key since schema 1
            "rows": [
                {"stage": r.stage, "lang": r.lang, "in": r.num_in, "kept": r.num_kept, "dropped": r.dropped}
                | ({"out": r.num_out} if r.num_out is not None else {})
                for r in self.rows()
            ],
            "balanced": not self.imbalances(),
        }

    @classmethod
    def from_json(cls, data: dict) -> Ledger:
        counts: Counter = Counter()
        for row in data["rows"]:
            counts[(row["stage"], row["lang"], IN)] += row["in"]
            counts[(row["stage"], row["lang"], KEPT)] += row["kept"]
            for reason, n in row["dropped"].items():
                counts[(row["stage"], row["lang"], DROPPED + reason)] += n
            if "out" in row:
                counts[(row["stage"], row["lang"], OUT)] += row["out"]
        return cls(data["flow"], counts)

    def dumps(self) -> str:
        return json.dumps(self.to_json(), indent=2, sort_keys=False)
