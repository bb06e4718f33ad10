"""Statistics of replications: intervals, simulated-vs-formula tables, paired differences, verdicts.

One run is one throw of the dice. Run a scenario with ten seeds and you have ten independent
measurements of the same thing, like ten thermometers in one room: their mean is the estimate,
and their spread says how far to trust it. :func:`confidence_interval` turns the ten into a
:class:`CI`, a mean with a low and a high end that cover the true mean in 95 of 100 such
experiments (Student's t: right for a handful of replications, whatever one run's own
distribution, as long as the runs are independent)::

    >>> ci = confidence_interval([1.1, 1.3, 1.2, 1.4])
    >>> f"{ci:.2f}"
    '1.25 [1.04, 1.46]'
    >>> ci.covers(1.3), ci.mean
    (True, 1.25)

A share of yes/no outcomes (did the run collapse?) gets :func:`wilson`'s interval instead, which
never leaves [0, 1] and is honest at 0 of 20. A count or a share averaged over runs can be cut to
the values it can take (``within=(0, inf)``, ``within=(0, 1)``): the true mean lies inside that
range, so the cut interval covers it exactly as often as the whole one did.

The notebooks' recurring questions each have one function:

* does the simulation agree with a formula, group by group? :func:`ci_table` (``formula=``);
* is design A better than design B? :func:`versus` and :func:`difference`, seed by seed: the same
  seed gives both designs the same arrivals (common random numbers), so their difference has
  far less noise than either number alone;
* which designs are not beaten on every measure at once? :func:`pareto_front`;
* what did the notebook find, claim by claim? :func:`verdict`, the one way a verdict table is
  printed.
"""

from __future__ import annotations

import math
import textwrap
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import NamedTuple

import numpy as np
import pandas as pd

from . import article

DEFAULT_FORMAT = ".3g"
"""How ``str(ci)`` prints each of its three numbers."""
COUNT = (0.0, math.inf)
"""The values the mean of a count (or of any quantity that cannot be negative: a wait, a cost)
can take: ``confidence_interval(counts, within=COUNT)``."""
SHARE = (0.0, 1.0)
"""The values a share's mean can take."""


class CI(NamedTuple):
    """A mean and the two ends of its confidence interval. It unpacks like the tuple it is
    (``mean, low, high = ci``) and formats each number with the same spec:
    ``f"{ci:.1%}"`` prints ``12.5% [10.0%, 15.0%]``."""

    mean: float
    low: float
    high: float

    def __format__(self, spec: str) -> str:
        spec = spec or DEFAULT_FORMAT
        return f"{self.mean:{spec}} [{self.low:{spec}}, {self.high:{spec}}]"

    def __str__(self) -> str:
        return format(self)

    def covers(self, value: float) -> bool:
        """Does the interval hold ``value`` (a formula's, say)? False for a missing interval."""
        return bool(self.low <= value <= self.high)

    @property
    def half_width(self) -> float:
        """Half the interval's width: the ``±`` of ``mean ± half_width``."""
        return (self.high - self.low) / 2


def _z(level: float) -> float:
    from scipy import stats
    return float(stats.norm.ppf((1 + level) / 2))


def confidence_interval(values: Iterable[float], level: float = 0.95,
                        within: tuple[float, float] = (-math.inf, math.inf)) -> CI:
    """Mean and Student-t confidence interval of independent replications (NaNs dropped),
    cut to ``within``, the values the mean can take. Fewer than two values: no interval."""
    from scipy import stats
    series = pd.Series(values, dtype=float).dropna()
    n, mean = len(series), float(series.mean())
    if n < 2:
        return CI(mean, math.nan, math.nan)
    half = float(stats.t.ppf((1 + level) / 2, n - 1) * series.std(ddof=1) / n**0.5)
    return CI(mean, max(mean - half, within[0]), min(mean + half, within[1]))


def wilson(successes: int, n: int, level: float = 0.95) -> CI:
    """A proportion and its Wilson score interval: ``successes`` of ``n`` independent yes/no
    trials. Always inside [0, 1], and sound at 0 or n successes, where the textbook
    ``p ± z sqrt(p(1-p)/n)`` shrinks to nothing."""
    if n < 1:
        raise ValueError(f"n must be >= 1, got {n!r}")
    z, p = _z(level), successes / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * ((p * (1 - p) / n + z * z / (4 * n * n)) ** 0.5) / (1 + z * z / n)
    return CI(p, max(0.0, centre - half), min(1.0, centre + half))


def difference(a: Iterable[float], b: Iterable[float], level: float = 0.95) -> CI:
    """The paired difference ``a - b``: replication by replication (aligned on the index when
    both are Series, e.g. seeds), then its mean and confidence interval."""
    if isinstance(a, pd.Series) and isinstance(b, pd.Series):
        a, b = a.align(b, join="inner")
    return confidence_interval(np.asarray(a, dtype=float) - np.asarray(b, dtype=float), level)


def _groups(table: pd.DataFrame, by: str | Sequence[str]):
    keys = [by] if isinstance(by, str) else list(by)
    return table.groupby(keys if len(keys) > 1 else keys[0], sort=False), keys


def ci_table(table: pd.DataFrame, by: str | Sequence[str], columns: str | Sequence[str],
             formula: Callable | Mapping | pd.Series | None = None, level: float = 0.95,
             within: tuple[float, float] | Mapping[str, tuple[float, float]] = (-math.inf,
                                                                                math.inf)
             ) -> pd.DataFrame:
    """One row per group of ``by`` (in order of appearance): the mean of ``columns`` over the
    group's replications and its confidence interval, as columns ``mean``, ``low``, ``high``
    (for several columns, one such trio under each column name).

    ``formula`` (one column only) adds the columns ``formula`` and ``inside`` (does the interval
    hold it?): a function of the group's key (a tuple for several ``by``), or a mapping (a dict,
    a Series) from key to value. This is the "simulated against the formula" table in one call.
    ``within`` cuts the intervals to the values the means can take (:data:`COUNT`,
    :data:`SHARE`), for every column or per column name (a mapping; columns it does not name
    are not cut)."""
    groups, keys = _groups(table, by)
    names = [columns] if isinstance(columns, str) else list(columns)
    bounds = {c: within.get(c, (-math.inf, math.inf)) if isinstance(within, Mapping) else within
              for c in names}
    rows = {key: {(c, part): value for c in names for part, value in
                  confidence_interval(g[c], level, bounds[c])._asdict().items()}
            for key, g in groups}
    out = pd.DataFrame.from_dict(rows, orient="index")
    out.columns = pd.MultiIndex.from_tuples(out.columns)
    out.index = out.index.set_names(keys) if len(keys) > 1 else out.index.rename(keys[0])
    if isinstance(columns, str):
        out = out[columns].copy()
        if formula is not None:
            get = formula if callable(formula) else formula.__getitem__
            out["formula"] = [float(get(key)) for key in out.index]
            out["inside"] = (out["low"] <= out["formula"]) & (out["formula"] <= out["high"])
    elif formula is not None:
        raise ValueError("formula needs one column, got several: " + ", ".join(names))
    return out


def formatted(frame: pd.DataFrame, spec: str | Mapping[str, str] = DEFAULT_FORMAT
              ) -> pd.DataFrame:
    """A table of :func:`ci_table` (or :func:`versus`) as text, ready to print: each trio of
    ``mean``, ``low``, ``high`` becomes one column of ``mean [low, high]`` (named after its
    column, or ``mean [CI]``), other numbers are formatted with ``spec`` (one for all, or one
    per column name), True and False become yes and no."""
    def fmt(name: str) -> str:
        return spec if isinstance(spec, str) else spec.get(name, DEFAULT_FORMAT)

    def cell(value, name: str) -> str:
        if isinstance(value, (bool, np.bool_)):
            return "yes" if value else "no"
        return format(value, fmt(name)) if isinstance(value, (float, np.floating)) else str(value)

    def trio(part: pd.DataFrame, name: str) -> list[str]:
        return [format(CI(*row), fmt(name)) for row in
                part[["mean", "low", "high"]].itertuples(index=False)]
    out = {}
    if isinstance(frame.columns, pd.MultiIndex):
        for name in frame.columns.get_level_values(0).unique():
            part = frame[name]
            if isinstance(part, pd.DataFrame) and {"mean", "low", "high"} <= set(part.columns):
                out[name] = trio(part, name)
            else:
                column = part if isinstance(part, pd.Series) else part.iloc[:, 0]
                out[name] = [cell(v, name) for v in column]
    else:
        for name in frame.columns:
            if name == "mean" and {"low", "high"} <= set(frame.columns):
                out["mean [CI]"] = trio(frame, name)
            elif name not in ("low", "high") or "mean" not in frame.columns:
                out[name] = [cell(v, name) for v in frame[name]]
    return pd.DataFrame(out, index=frame.index)


def mean_with_ci(table: pd.DataFrame, x: str, y: str, level: float = 0.95) -> pd.DataFrame:
    """One row per value of ``x``, sorted: the mean of ``y`` over the seeds and its confidence
    interval (columns ``x``, ``mean``, ``low``, ``high``, ``runs``): the points of a chart."""
    out = ci_table(table.sort_values(x, kind="stable"), x, y, level=level)
    out["runs"] = table.groupby(x, sort=False)[y].size()
    return out.reset_index()


def versus(table: pd.DataFrame, by: str, reference: str, columns: str | Sequence[str],
           pair: str = "seed", level: float = 0.95) -> pd.DataFrame:
    """Each group of ``by`` minus the group ``reference``, replication by replication (rows
    paired on ``pair``): the mean and confidence interval of the difference, in the shape of
    :func:`ci_table` (the reference's own row left out)."""
    names = [columns] if isinstance(columns, str) else list(columns)
    base = table[table[by] == reference].set_index(pair)[names]
    diffs = []
    for key, group in table[table[by] != reference].groupby(by, sort=False):
        diff = group.set_index(pair)[names] - base
        diffs.append(diff.dropna(how="all").assign(**{by: key}).reset_index())
    return ci_table(pd.concat(diffs, ignore_index=True), by, columns, level=level)


def pareto_front(table: pd.DataFrame, lower: Sequence[str] = ("cost_per_ok", "latency_p95"),
                 higher: Sequence[str] = ("availability",)) -> pd.Series:
    """True for the rows no other row dominates. Row A dominates row B when A is at least as
    good on every column (``lower`` columns lower or equal, ``higher`` columns higher or equal)
    and strictly better on at least one. On a :func:`ci_table` the means are compared."""
    def column(name: str) -> np.ndarray:
        values = table[name]
        return (values["mean"] if isinstance(values, pd.DataFrame) else values).to_numpy(float)
    good = np.column_stack([-column(c) for c in lower] + [column(c) for c in higher])
    dominated = [np.any(np.all(good >= row, axis=1) & np.any(good > row, axis=1))
                 for row in good]
    return pd.Series(np.logical_not(dominated), index=table.index, name="front")


UNSTABLE = "unstable (offered load at or past capacity)"
"""What a number from an unstable queue is reported as, instead of a mean and an interval."""


def crossing(xs: Sequence[float], ys: Sequence[float], level: float,
             already: bool = False) -> float | None:
    """Where the curve ``ys`` over ``xs`` first crosses ``level``, by linear interpolation
    between the two points around the crossing; None if it never does. A verdict's flip point
    (the setting at which a ratio passes 1.2, a share passes 1%) is read off a sweep this way.
    With ``already``, a rising curve that is at or above ``level`` from its first point on
    reads as flipped there (the flip lies at or below the smallest setting measured)."""
    xs, ys = np.asarray(xs, float), np.asarray(ys, float) - level
    if already and len(ys) and ys[0] >= 0:
        return float(xs[0])
    for k in range(1, len(xs)):
        if ys[k - 1] == 0:
            return float(xs[k - 1])
        if ys[k - 1] * ys[k] < 0 or ys[k] == 0:
            return float(xs[k - 1] + (xs[k] - xs[k - 1]) * ys[k - 1] / (ys[k - 1] - ys[k]))
    return None


def reported(values, stable: bool, level: float = 0.95, within=None) -> CI | str:
    """A mean with its interval when the queue it was measured on is stable, else
    :data:`UNSTABLE` (its mean would only grow with the run's length)."""
    if not stable:
        return UNSTABLE
    return confidence_interval(values, level, within or (-math.inf, math.inf))


VERDICTS = ("holds", "holds if", "contradicted", "not testable")
"""What a claim can come to (DESIGN.md section 2); "holds if" names its condition in the row."""
COLUMNS = ("claim", "verdict", "what the simulation shows", "assumption / where it stops")
WIDTHS = (24, 12, 48, 38)
"""Characters per column when a verdict table is printed as text."""


class Verdict(pd.DataFrame):
    """A verdict table: a DataFrame with the columns of :data:`COLUMNS`, one row per claim,
    that prints as a wrapped text table (``print``, nbval) and as a left-aligned HTML table
    (a notebook's display). Anything computed from it is a plain DataFrame. The article
    claims each row tests are in ``attrs["article"]`` (a list of id lists, row by row)."""

    @property
    def _constructor(self):
        return pd.DataFrame

    def __repr__(self) -> str:
        return _wrapped(list(self.itertuples(index=False)), COLUMNS, WIDTHS)

    def __str__(self) -> str:
        return repr(self)

    def _repr_html_(self) -> str:
        table = pd.DataFrame(self).to_html(index=False, border=0, justify="left",
                                           classes="simlib-verdict")
        return f"<style>{HTML_STYLE}</style>\n{table}"

    def _repr_mimebundle_(self, include=None, exclude=None) -> dict:
        """Text and HTML, and the rows with their article claim ids as JSON
        (:data:`MIMETYPE`), which ``tools/scorecard.py`` reads from the stored notebooks."""
        ids = self.attrs.get("article") or [[] for _ in range(len(self))]
        rows = [dict(zip(COLUMNS, row, strict=True)) | {"article": claims}
                for row, claims in zip(self.itertuples(index=False), ids, strict=True)]
        return {"text/plain": repr(self), "text/html": self._repr_html_(), MIMETYPE: rows}


MIMETYPE = "application/vnd.simlib.verdict+json"
"""The output type that carries a verdict table's rows, for the scorecard."""


HTML_STYLE = ".simlib-verdict td, .simlib-verdict th {text-align: left; vertical-align: top}"


def verdict(rows: Iterable[Sequence[str]]) -> Verdict:
    """The verdict table of a notebook from rows of (claim, verdict, what the simulation shows,
    assumption or where it stops holding[, article claim ids]); each verdict is one of
    :data:`VERDICTS`. The optional fifth cell names the source article's claims the row tests
    (ids of :data:`simlib.article.CLAIMS`, comma-separated): ``tools/scorecard.py`` collects
    them into ``docs/scorecard.md``. It is kept in ``Verdict.article``, not printed."""
    rows = [tuple(str(cell) for cell in row) for row in rows]
    ids = []
    for row in rows:
        if len(row) not in (len(COLUMNS), len(COLUMNS) + 1):
            raise ValueError(f"a verdict row needs {len(COLUMNS)} cells {COLUMNS} and may add "
                             f"article claim ids, got {row!r}")
        if row[1] not in VERDICTS:
            raise ValueError(f"verdict must be one of {VERDICTS}, got {row[1]!r} ({row[0]})")
        ids.append(article.check(row[4]) if len(row) > len(COLUMNS) else [])
    table = Verdict([row[:len(COLUMNS)] for row in rows], columns=list(COLUMNS))
    table.attrs["article"] = ids
    return table


def _wrapped(rows: list[Sequence[str]], headers: Sequence[str], widths: Sequence[int]) -> str:
    """Rows of text as a plain table, each column wrapped to its width."""
    lines = []
    for row in [headers, *rows]:
        cells = [textwrap.wrap(str(text), width) or [""]
                 for text, width in zip(row, widths, strict=True)]
        for i in range(max(len(c) for c in cells)):
            lines.append(" | ".join(f"{(c[i] if i < len(c) else ''):<{width}}"
                                    for c, width in zip(cells, widths, strict=True)).rstrip())
        if row is headers:
            lines.append("-+-".join("-" * width for width in widths))
    return "\n".join(lines)
