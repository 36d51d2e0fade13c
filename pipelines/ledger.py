"""The ledger: per stage and language, how many records came in, were kept, and were dropped and why.

Counts are taken where records are written (kept rows into a part, dropped rows into rejects), not
derived from each other, so a record lost anywhere shows up as an imbalance:

* within a stage and language: in = kept + sum(dropped);
* along the chain of stages: what one stage keeps, the next one takes in (in total over languages,
  because language identification moves records between languages).
"""

from __future__ import annotations

import dataclasses
import json
from collections import Counter
from collections.abc import Iterable, Mapping

IN, KEPT = "in", "kept"
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

    @property
    def num_dropped(self) -> int:
        return sum(self.dropped.values())


class Ledger:
    """Counts of a whole build, in stage order."""

    def __init__(self, stages: list[str], counts: Counts):
        unknown = {stage for stage, _, _ in counts} - set(stages)
        if unknown:
            raise LedgerError(f"counts for unknown stages: {sorted(unknown)}")
        self.stages = list(stages)
        self.counts = Counter(counts)

    def rows(self) -> list[LedgerRow]:
        by_key: dict[tuple[str, str], dict[str, int]] = {}
        for (stage, lang, outcome), n in self.counts.items():
            by_key.setdefault((stage, lang), {})[outcome] = n
        rows = []
        for stage in self.stages:
            for lang in sorted(lang for s, lang in by_key if s == stage):
                outcomes = by_key[(stage, lang)]
                dropped = {o[len(DROPPED) :]: n for o, n in sorted(outcomes.items()) if o.startswith(DROPPED)}
                rows.append(LedgerRow(stage, lang, outcomes.get(IN, 0), outcomes.get(KEPT, 0), dropped))
        return rows

    def total(self, stage: str, outcome: str) -> int:
        return sum(n for (s, _, o), n in self.counts.items() if s == stage and o == outcome)

    def total_dropped(self) -> int:
        return sum(n for (_, _, o), n in self.counts.items() if o.startswith(DROPPED))

    def imbalances(self) -> list[str]:
        """Every way the counts fail to balance, as sentences; empty when the ledger is exact."""
        problems = [
            f"stage {r.stage!r}, language {r.lang!r}: {r.num_in} in != {r.num_kept} kept + {r.num_dropped} dropped"
            for r in self.rows()
            if r.num_in != r.num_kept + r.num_dropped
        ]
        for before, after in zip(self.stages, self.stages[1:]):
            kept, taken = self.total(before, KEPT), self.total(after, IN)
            if kept != taken:
                problems.append(f"stage {before!r} kept {kept} records but stage {after!r} took in {taken}")
        return problems

    def check(self) -> None:
        problems = self.imbalances()
        if problems:
            raise LedgerError("the ledger does not balance:\n  " + "\n  ".join(problems))

    def to_json(self) -> dict:
        return {
            "stages": self.stages,
            "rows": [
                {"stage": r.stage, "lang": r.lang, "in": r.num_in, "kept": r.num_kept, "dropped": r.dropped}
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
        return cls(data["stages"], counts)

    def dumps(self) -> str:
        return json.dumps(self.to_json(), indent=2, sort_keys=False)
