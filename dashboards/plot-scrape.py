#!/usr/bin/env python3
"""Record the forwarder's Prometheus metrics during a run, and plot them as one SVG picture.

Python 3.8+ standard library only; no Prometheus or Grafana needed.

  record URL OUT.tsv [--every 5] [--for 180] [--prefix trace_]
      GET URL (the forwarder serves http://127.0.0.1:9876/observe/metrics) every --every seconds for --for seconds
      (0: until Ctrl-C) and append the samples of the series whose name starts with --prefix to OUT.tsv, one line per
      sample: time (UTC, ISO 8601), name, labels (as in the exposition: api="reporting",sink="file"), value.
      A failed scrape is reported on stderr and skipped; recording goes on.

  plot OUT.tsv OUT.svg [--title TEXT]
      Draw four panels: checkpoint lag, records forwarded per sink (cumulative; counter resets, i.e. restarts of the
      product, are bridged), records pending per sink (the first three share the time axis), and the lateness
      histogram of the last scrape (rows per bucket, not cumulative; summed over api and tenant).

  selftest [--keep DIR] [--serve [--port N]]
      Serve made-up metrics in Micrometer's exact text format on 127.0.0.1, record them for a few seconds, plot them
      and check the picture. --serve only serves them (until Ctrl-C), to try `record` and `plot` by hand.

Example, during a demo run (java -Dcamel.main.profile=demo -jar target/m365-trace-forwarder.jar):

  python3 dashboards/plot-scrape.py record http://127.0.0.1:9876/observe/metrics demo.tsv --every 5 --for 180
  python3 dashboards/plot-scrape.py plot demo.tsv demo.svg
"""

import argparse
import datetime
import http.server
import math
import os
import random
import sys
import tempfile
import threading
import time
import urllib.request
import xml.etree.ElementTree as ET
from xml.sax.saxutils import escape

HEADER = "time\tname\tlabels\tvalue"
LATENESS_BUCKETS = (60, 300, 600, 900, 1800, 3600, 7200, 14400, 43200, 86400)
WINDOW_BUCKETS = (0.1, 0.5, 1, 2, 5, 10, 30, 60, 120, 300, 600)


# ---------------------------------------------------------------- Prometheus text format (0.0.4 and OpenMetrics)

def parse_labels(text, pos=0, end_char="}"):
    """Labels from text[pos:] up to end_char (or the end): (dict, position after end_char)."""
    labels = {}
    n = len(text)
    while pos < n:
        while pos < n and text[pos] in " ,\t":
            pos += 1
        if pos >= n:
            break
        if text[pos] == end_char:
            return labels, pos + 1
        eq = text.index("=", pos)
        key = text[pos:eq].strip()
        pos = eq + 1
        while text[pos] == " ":
            pos += 1
        if text[pos] != '"':
            raise ValueError("label value not quoted: " + text)
        pos += 1
        value = []
        while text[pos] != '"':
            c = text[pos]
            if c == "\\":
                pos += 1
                c = {"n": "\n", "t": "\t"}.get(text[pos], text[pos])
            value.append(c)
            pos += 1
        labels[key] = "".join(value)
        pos += 1
    if end_char == "}":
        raise ValueError("labels not closed: " + text)
    return labels, pos


def format_labels(labels):
    """The labels as the exposition writes them (sorted by name), with tab and newline escaped for a TSV cell."""
    def esc(v):
        return v.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n").replace("\t", "\\t")
    return ",".join('%s="%s"' % (k, esc(labels[k])) for k in sorted(labels))


def parse_exposition(text):
    """Samples of a scrape: a list of (name, labels dict, float value); comments, # EOF and timestamps ignored."""
    samples = []
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        brace = line.find("{")
        space = line.find(" ")
        if brace != -1 and (space == -1 or brace < space):
            name = line[:brace]
            labels, pos = parse_labels(line, brace + 1)
            rest = line[pos:].split()
        else:
            name, rest = line.split(None, 1)[0], line.split()[1:]
            labels = {}
        if not rest:
            raise ValueError("sample without a value: " + line)
        samples.append((name, labels, float(rest[0])))
    return samples


# ---------------------------------------------------------------- record

def utc_stamp(epoch):
    return datetime.datetime.fromtimestamp(epoch, datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def parse_stamp(text):
    try:
        return float(text)
    except ValueError:
        stamp = datetime.datetime.strptime(text, "%Y-%m-%dT%H:%M:%S.%fZ")
        return stamp.replace(tzinfo=datetime.timezone.utc).timestamp()


def scrape(url, timeout):
    request = urllib.request.Request(url, headers={"Accept": "text/plain;version=0.0.4;q=1,*/*;q=0.1"})
    with urllib.request.urlopen(request, timeout=timeout) as reply:
        charset = reply.headers.get_content_charset() or "utf-8"
        return parse_exposition(reply.read().decode(charset))


def record(url, out, every, duration, prefix="trace_", timeout=10.0, log=sys.stderr):
    """Scrape url every `every` s for `duration` s (0: until Ctrl-C), appending samples to out. Returns (scrapes, failed)."""
    new = not os.path.exists(out) or os.path.getsize(out) == 0
    done = failed = 0
    start = time.monotonic()
    slot = 0
    with open(out, "a", encoding="utf-8", newline="\n") as tsv:
        if new:
            tsv.write(HEADER + "\n")
        try:
            while True:
                due = start + slot * every
                if duration > 0 and due - start > duration + 1e-6:
                    break
                wait = due - time.monotonic()
                if wait > 0:
                    time.sleep(wait)
                stamp = utc_stamp(time.time())
                try:
                    samples = [s for s in scrape(url, min(timeout, max(every, 1.0))) if s[0].startswith(prefix)]
                except Exception as e:  # a scrape that fails (product restarting, not up yet) is skipped
                    failed += 1
                    print("%s scrape failed: %s" % (stamp, e), file=log)
                else:
                    for name, labels, value in samples:
                        tsv.write("%s\t%s\t%s\t%r\n" % (stamp, name, format_labels(labels), value))
                    tsv.flush()
                    done += 1
                    print("%s %d samples" % (stamp, len(samples)), file=log)
                # skip the slots a slow scrape overran, so that samples stay `every` apart
                slot = max(slot + 1, int((time.monotonic() - start) / every) + 1)
        except KeyboardInterrupt:
            print("stopped", file=log)
    print("%d scrapes recorded to %s (%d failed)" % (done, out, failed), file=log)
    return done, failed


# ---------------------------------------------------------------- read a recording

def load(path):
    """{epoch: [(name, labels, value), ...]} of a recording, one entry per scrape."""
    scrapes = {}
    with open(path, encoding="utf-8") as tsv:
        for number, line in enumerate(tsv, 1):
            line = line.rstrip("\n")
            if not line or line.startswith("#") or line == HEADER:
                continue
            parts = line.split("\t")
            if len(parts) != 4:
                raise ValueError("%s:%d: expected 4 tab-separated fields" % (path, number))
            labels, _ = parse_labels(parts[2], 0, end_char="")
            scrapes.setdefault(parse_stamp(parts[0]), []).append((parts[1], labels, float(parts[3])))
    return scrapes


def series_of(scrapes, name, key, reset_bridge=False):
    """{key(labels): [(t, value), ...]} of metric `name`, values of equal key summed per scrape.

    reset_bridge: a counter that goes down (the product restarted) continues from where it was."""
    raw = {}
    for t in sorted(scrapes):
        for n, labels, value in scrapes[t]:
            if n == name:
                raw.setdefault(format_labels(labels), (labels, []))[1].append((t, value))
    grouped = {}
    for labels, points in raw.values():
        if reset_bridge:
            offset, last, bridged = 0.0, None, []
            for t, v in points:
                if last is not None and v < last:
                    offset += last
                last = v
                bridged.append((t, v + offset))
            points = bridged
        target = grouped.setdefault(key(labels), {})
        for t, v in points:
            target[t] = target.get(t, 0.0) + v
    return {k: sorted(v.items()) for k, v in grouped.items()}


def lateness_of_last_scrape(scrapes):
    """(time, [(upper bound, rows in bucket), ...]) of the last scrape with lateness buckets, summed over labels."""
    for t in sorted(scrapes, reverse=True):
        cumulative = {}
        for n, labels, value in scrapes[t]:
            if n == "trace_row_lateness_seconds_bucket":
                le = float(labels.get("le", "inf"))
                cumulative[le] = cumulative.get(le, 0.0) + value
        if cumulative:
            bounds = sorted(cumulative)
            counts, below = [], 0.0
            for le in bounds:
                counts.append((le, max(0.0, cumulative[le] - below)))
                below = max(below, cumulative[le])
            return t, counts
    return None, []


# ---------------------------------------------------------------- formatting and scales

DURATION_STEPS = (1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 10800, 21600, 43200, 86400)


def fmt_duration(seconds):
    s = float(seconds)
    if s == 0:
        return "0"
    if abs(s) < 60:
        return "%gs" % round(s, 2)
    s = int(round(s))
    for unit, size, sub, subsize in (("d", 86400, "h", 3600), ("h", 3600, "m", 60), ("m", 60, "s", 1)):
        if s >= size:
            big, rest = divmod(s, size)
            return "%d%s" % (big, unit) + ("%d%s" % (rest // subsize, sub) if rest // subsize else "")
    return "%ds" % s


def fmt_number(v):
    a = abs(v)
    for size, unit in ((1e9, "G"), (1e6, "M"), (1e4, "k")):
        if a >= size:
            return "%g%s" % (round(v / size, 2), unit)
    return "%g" % round(v, 3)


def nice_step(span, target, steps=None):
    raw = max(span, 1e-9) / target
    if steps:
        for s in steps:
            if s >= raw:
                return s
        return steps[-1] * math.ceil(raw / steps[-1])
    magnitude = 10 ** math.floor(math.log10(raw))
    for m in (1, 2, 2.5, 5, 10):
        if m * magnitude >= raw:
            return m * magnitude
    return 10 * magnitude


def ticks(high, target, steps=None, integer=False):
    """(top of the scale, tick values from 0); integer: no step below 1 (counts of records)."""
    step = nice_step(high if high > 0 else 1, target, steps)
    if integer:
        step = max(1, step)
    top = step * max(1, math.ceil((high if high > 0 else 1) / step - 1e-9))
    return top, [i * step for i in range(int(round(top / step)) + 1)]


PALETTE = ("#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf")
SINK_COLOURS = {"file": "#1f77b4", "syslog": "#ff7f0e", "http": "#2ca02c"}


# ---------------------------------------------------------------- SVG

WIDTH = 960
LEFT = 78           # room for the y tick labels and the y axis title
PLOT_W = 680
LEGEND_X = LEFT + PLOT_W + 18
PANEL_H = 188       # a panel: title 30, plot 122, x labels 36
PLOT_TOP = 34
PLOT_H = 118


class Svg:
    def __init__(self):
        self.parts = []

    def add(self, text):
        self.parts.append(text)

    def text(self, x, y, content, size=12, anchor="start", colour="#333", weight="normal", extra=""):
        self.add('<text x="%.1f" y="%.1f" font-size="%d" text-anchor="%s" fill="%s" font-weight="%s"%s>%s</text>'
                 % (x, y, size, anchor, colour, weight, extra, escape(content)))

    def line(self, x1, y1, x2, y2, colour="#ccc", width=1, dash=None):
        self.add('<line x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f" stroke="%s" stroke-width="%g"%s/>'
                 % (x1, y1, x2, y2, colour, width, ' stroke-dasharray="%s"' % dash if dash else ""))


def panel_frame(svg, y0, number, title, subtitle, ylabel, top, yticks, yfmt):
    """Title, y grid and y labels of a panel; returns the function mapping a value to y."""
    svg.add('<g id="panel-%d">' % number)
    svg.text(LEFT, y0 + 16, title, size=14, weight="bold", colour="#111")
    if subtitle:
        svg.text(LEFT, y0 + 29, subtitle, size=11, colour="#666")
    py = y0 + PLOT_TOP

    def y_of(v):
        return py + PLOT_H - (v / top) * PLOT_H if top else py + PLOT_H

    for v in yticks:
        y = y_of(v)
        svg.line(LEFT, y, LEFT + PLOT_W, y, colour="#e4e4e4")
        svg.text(LEFT - 6, y + 4, yfmt(v), size=11, anchor="end", colour="#555")
    cy = py + PLOT_H / 2
    svg.text(16, cy, ylabel, size=12, anchor="middle", colour="#333", extra=' transform="rotate(-90 16 %.1f)"' % cy)
    svg.add('<rect x="%d" y="%.1f" width="%d" height="%d" fill="none" stroke="#999"/>' % (LEFT, py, PLOT_W, PLOT_H))
    return y_of


def line_style(index, count):
    """Stroke attributes of the index-th of count lines: lines that coincide (sinks that took the same records) stay
    apart: the first is wide and pale under the others, the third and later are dashed over them."""
    if count > 1 and index == 0:
        return 'stroke-width="5" stroke-opacity="0.55"'
    return 'stroke-width="2"' + (' stroke-dasharray="7 4"' if index >= 2 else "")


def legend(svg, y0, entries):
    """entries: (label, colour)."""
    y = y0 + PLOT_TOP + 10
    shown = entries[:7]
    for i, (label, colour) in enumerate(shown):
        svg.add('<line x1="%d" y1="%.1f" x2="%d" y2="%.1f" stroke="%s" %s/>'
                % (LEGEND_X, y - 4, LEGEND_X + 26, y - 4, colour, line_style(i, len(entries))))
        svg.text(LEGEND_X + 32, y, label, size=12, colour="#222")
        y += 17
    if len(entries) > len(shown):
        svg.text(LEGEND_X, y, "+%d more" % (len(entries) - len(shown)), size=11, colour="#666")


def time_panel(svg, y0, number, title, subtitle, ylabel, series, t0, t1, duration_axis, xtitle, empty_note):
    """series: [(label, colour, [(t, v), ...])]; lines broken where scrapes are missing."""
    values = [v for _, _, pts in series for _, v in pts if not math.isnan(v)]
    high = max(values) * 1.08 if values else 1
    top, yticks = ticks(high, 4, DURATION_STEPS if duration_axis else None, integer=not duration_axis)
    y_of = panel_frame(svg, y0, number, title, subtitle, ylabel, top, yticks,
                       fmt_duration if duration_axis else fmt_number)
    py = y0 + PLOT_TOP
    span = max(t1 - t0, 1e-9)

    def x_of(t):
        return LEFT + (t - t0) / span * PLOT_W

    xtop, xticks = ticks(span, 8, DURATION_STEPS)
    for v in xticks:
        if v > span + 1e-6:
            continue
        x = x_of(t0 + v)
        svg.line(x, py, x, py + PLOT_H, colour="#efefef")
        svg.line(x, py + PLOT_H, x, py + PLOT_H + 4, colour="#999")
        svg.text(x, py + PLOT_H + 16, fmt_duration(v), size=11, anchor="middle", colour="#555")
    if xtitle:
        svg.text(LEFT + PLOT_W / 2, py + PLOT_H + 32, xtitle, size=12, anchor="middle", colour="#333")
    if not values:
        svg.text(LEFT + PLOT_W / 2, py + PLOT_H / 2, empty_note, size=13, anchor="middle", colour="#999")
    times = sorted({t for _, _, pts in series for t, _ in pts})
    gaps = sorted(b - a for a, b in zip(times, times[1:]))
    gap_limit = 2.5 * gaps[len(gaps) // 2] if gaps else float("inf")
    for index, (label, colour, points) in enumerate(series):
        runs, run, last = [], [], None
        for t, v in points:
            if math.isnan(v) or (last is not None and t - last > gap_limit):
                if run:
                    runs.append(run)
                run = []
            if not math.isnan(v):
                run.append((x_of(t), y_of(v)))
            last = t
        if run:
            runs.append(run)
        for run in runs:
            if len(run) == 1:
                svg.add('<circle cx="%.1f" cy="%.1f" r="2.5" fill="%s"/>' % (run[0][0], run[0][1], colour))
            else:
                svg.add('<polyline fill="none" stroke="%s" %s stroke-linejoin="round" points="%s"/>'
                        % (colour, line_style(index, len(series)), " ".join("%.1f,%.1f" % p for p in run)))
    legend(svg, y0, [(label, colour) for label, colour, _ in series])
    svg.add("</g>")


def bucket_label(bounds, i):
    le = bounds[i]
    if math.isinf(le):
        return "> " + fmt_duration(bounds[i - 1]) if i else "all"
    if i == 0:
        return "≤ " + fmt_duration(le)
    return "%s–%s" % (fmt_duration(bounds[i - 1]), fmt_duration(le))


def histogram_panel(svg, y0, number, when, counts):
    total = sum(c for _, c in counts)
    subtitle = ("rows that showed up after the first read of their window, by how late; last scrape (%s UTC), "
                "%s rows, all api/tenant series" % (utc_stamp(when)[11:19], fmt_number(total))) if counts else None
    top, yticks = ticks(max([c for _, c in counts] + [0]) * 1.12, 4, integer=True)
    y_of = panel_frame(svg, y0, number, "Row lateness (trace_row_lateness_seconds, per bucket)", subtitle, "rows",
                       top, yticks, fmt_number)
    py = y0 + PLOT_TOP
    if not counts or not total:
        svg.text(LEFT + PLOT_W / 2, py + PLOT_H / 2, "no trace_row_lateness_seconds_bucket in this recording"
                 if not counts else "no late row yet: every row was there at the first read of its window",
                 size=13, anchor="middle", colour="#999")
    bounds = [le for le, _ in counts]
    band = PLOT_W / max(len(counts), 1)
    for i, (le, count) in enumerate(counts):
        x = LEFT + i * band
        y = y_of(count)
        svg.add('<rect x="%.1f" y="%.1f" width="%.1f" height="%.1f" fill="#6a51a3"/>'
                % (x + band * 0.15, y, band * 0.7, py + PLOT_H - y))
        if count:
            svg.text(x + band / 2, y - 4, fmt_number(count), size=11, anchor="middle", colour="#222")
        svg.text(x + band / 2, py + PLOT_H + 16, bucket_label(bounds, i), size=11, anchor="middle", colour="#555")
    svg.text(LEFT + PLOT_W / 2, py + PLOT_H + 32, "lateness: now minus the row's received time when it first appeared",
             size=12, anchor="middle", colour="#333")
    svg.add("</g>")


def source_label(labels):
    return " · ".join(x for x in (labels.get("tenant", ""), labels.get("api", "")) if x) or "all"


def plot(tsv, out, title=None):
    scrapes = load(tsv)
    if not scrapes:
        raise SystemExit("%s holds no samples" % tsv)
    times = sorted(scrapes)
    t0, t1 = times[0], times[-1]
    if t1 == t0:
        t1 = t0 + 1

    def by_source(labels):
        return source_label(labels)

    def by_sink(labels):
        return labels.get("sink", "?")

    def coloured(groups, colours=None):
        out_series = []
        for i, key in enumerate(sorted(groups)):
            colour = (colours or {}).get(key, PALETTE[i % len(PALETTE)])
            out_series.append((key, colour, groups[key]))
        return out_series

    lag = coloured(series_of(scrapes, "trace_checkpoint_lag_seconds", by_source))
    forwarded = coloured(series_of(scrapes, "trace_records_forwarded_total", by_sink, reset_bridge=True), SINK_COLOURS)
    pending = coloured(series_of(scrapes, "trace_sink_pending_records", by_sink), SINK_COLOURS)
    when, counts = lateness_of_last_scrape(scrapes)
    steps = sorted(b - a for a, b in zip(times, times[1:]))
    every = steps[len(steps) // 2] if steps else 0

    svg = Svg()
    height = 58 + 4 * PANEL_H + 10
    svg.add('<?xml version="1.0" encoding="UTF-8"?>')
    svg.add('<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" viewBox="0 0 %d %d" '
            'font-family="Helvetica, Arial, sans-serif">' % (WIDTH, height, WIDTH, height))
    svg.add('<rect width="100%" height="100%" fill="#ffffff"/>')
    svg.text(LEFT, 24, title or "m365-trace-forwarder: metrics during a run", size=17, weight="bold", colour="#111")
    svg.text(LEFT, 43, "%d scrapes of /observe/metrics, every %s, %s to %s UTC" % (
        len(times), fmt_duration(every), utc_stamp(t0)[:19].replace("T", " "), utc_stamp(times[-1])[11:19]),
        size=12, colour="#555")
    y = 58
    time_panel(svg, y, 1, "Checkpoint lag (trace_checkpoint_lag_seconds)",
               "now minus the end of the last committed window, per source", "lag", lag, t0, t1, True, None,
               "no trace_checkpoint_lag_seconds (or only NaN: nothing committed yet)")
    y += PANEL_H
    time_panel(svg, y, 2, "Records forwarded per sink (trace_records_forwarded_total)",
               "cumulative records each sink took (written, sent, 2xx), summed over api/tenant", "records",
               forwarded, t0, t1, False, None, "no trace_records_forwarded_total in this recording")
    y += PANEL_H
    time_panel(svg, y, 3, "Records pending per sink (trace_sink_pending_records)",
               "records in the sink's spool, not yet taken", "records", pending, t0, t1, False,
               "time since the first scrape", "no trace_sink_pending_records in this recording")
    y += PANEL_H
    histogram_panel(svg, y, 4, when, counts)
    svg.add("</svg>")
    with open(out, "w", encoding="utf-8") as f:
        f.write("\n".join(svg.parts) + "\n")
    return {"scrapes": len(times), "lag": len(lag), "forwarded": len(forwarded), "pending": len(pending),
            "buckets": len(counts)}


# ---------------------------------------------------------------- selftest: made-up metrics in Micrometer's format

class FakeProduct:
    """A made-up forwarder: every `step` s a window of rows is read, forwarded to file and syslog at once and to http
    in batches, some rows arrive late; the metrics are written as Micrometer's PrometheusMeterRegistry writes them."""

    def __init__(self, step=1.0, tenants=(), seed=12):
        self.step = step
        self.random = random.Random(seed)
        self.start = time.time()
        self.windows = 0
        self.lock = threading.Lock()
        self.sources = [{"api": "reporting", **({"tenant": t} if t else {})} for t in (tenants or [""])]
        self.counters = {}      # (name, labels) -> value
        self.histograms = {}    # (name, labels) -> [bucket counts..., count, sum, max]
        self.committed = {}
        self.pending_http = {}  # source -> records the http sink has not sent yet

    def add(self, name, labels, amount=1.0):
        key = (name, format_labels(labels))
        self.counters[key] = self.counters.get(key, 0.0) + amount

    def observe(self, name, labels, bounds, value):
        key = (name, format_labels(labels))
        h = self.histograms.setdefault(key, [0] * len(bounds) + [0, 0.0, 0.0])
        for i, le in enumerate(bounds):
            if value <= le:
                h[i] += 1
        h[-3] += 1
        h[-2] += value
        h[-1] = max(h[-1], value)

    def advance(self):
        now = time.time()
        with self.lock:
            while self.start + (self.windows + 1) * self.step <= now:
                self.windows += 1
                at = self.start + self.windows * self.step
                for src in self.sources:
                    self.window(src, at)

    def window(self, src, at):
        r = self.random
        pages = r.randint(1, 3)
        for _ in range(pages):
            self.add("trace_api_requests_total", dict(src, outcome="ok"))
        if r.random() < 0.15:
            self.add("trace_api_requests_total", dict(src, outcome="throttled"))
        if r.random() < 0.04:
            self.add("trace_api_requests_total", dict(src, outcome="error"))
        rows = r.randint(40, 70)
        new = r.randint(10, 25)
        filtered = r.randint(0, 3)
        unusable = 1 if r.random() < 0.05 else 0
        self.add("trace_rows_fetched_total", src, rows)
        self.add("trace_records_duplicate_total", src, rows - new - filtered - unusable)
        self.add("trace_records_filtered_total", src, filtered)
        self.add("trace_rows_unusable_total", src, unusable)
        self.add("trace_dead_letters_total", dict(src, sink="source"), unusable)
        for sink in ("file", "syslog"):
            self.add("trace_records_forwarded_total", dict(src, sink=sink), new)
        key = format_labels(src)
        self.pending_http[key] = self.pending_http.get(key, 0) + new
        if self.windows % 3 == 0:  # the http sink sends a batch every third window
            self.add("trace_records_forwarded_total", dict(src, sink="http"), self.pending_http.pop(key))
        for _ in range(r.randint(0, 4)):
            late = r.choice((20, 45, 90, 130, 240, 420, 700, 1300))
            self.observe("trace_row_lateness_seconds", src, LATENESS_BUCKETS, late * r.uniform(0.8, 1.2))
        self.observe("trace_window_seconds", src, WINDOW_BUCKETS, r.uniform(0.05, 1.5))
        self.committed[format_labels(src)] = at - 5.0  # the window ended trace.delay (5 s) before the poll

    def exposition(self):
        """The text of GET /observe/metrics, as Micrometer 1.15 / prometheus-metrics 1.3 write format 0.0.4."""
        self.advance()
        now = time.time()
        d = lambda v: repr(float(v)).replace("inf", "Inf").replace("nan", "NaN")  # noqa: E731  Java's Double.toString
        metrics = {}   # name -> (type, help, [lines])

        def put(name, kind, help_text, line):
            metrics.setdefault(name, (kind, help_text, []))[2].append(line)

        helps = {
            "trace_api_requests_total": "API requests by outcome",
            "trace_dead_letters_total": "records kept as dead letters, by sink (source: unusable rows)",
            "trace_records_duplicate_total": "rows skipped as already forwarded",
            "trace_records_filtered_total": "rows not forwarded by trace.filter.statuses",
            "trace_records_forwarded_total": "records a sink took",
            "trace_rows_fetched_total": "rows read from the API (windows read again count again)",
            "trace_rows_unusable_total": "rows that cannot become a record (kept in deadletter/source)",
        }
        with self.lock:
            for (name, labels), value in sorted(self.counters.items()):
                put(name, "counter", helps[name], "%s{%s} %s" % (name, labels, d(value)))
            for src in self.sources:
                key = format_labels(src)
                lag = now - self.committed[key] if key in self.committed else float("nan")
                put("trace_checkpoint_lag_seconds", "gauge", "now minus the end of the last committed window",
                    "trace_checkpoint_lag_seconds{%s} %s" % (key, d(lag)))
            for sink, value in (("file", 0), ("http", sum(self.pending_http.values())), ("syslog", 0)):
                put("trace_sink_pending_records", "gauge", "records in the sink's spool",
                    'trace_sink_pending_records{sink="%s"} %s' % (sink, d(value)))
            for (name, labels), h in sorted(self.histograms.items()):
                bounds = LATENESS_BUCKETS if name == "trace_row_lateness_seconds" else WINDOW_BUCKETS
                for i, le in enumerate(bounds):
                    put(name, "histogram", name, '%s_bucket{%s,le="%s"} %d' % (name, labels, d(le), h[i]))
                put(name, "histogram", name, '%s_bucket{%s,le="+Inf"} %d' % (name, labels, h[-3]))
                put(name, "histogram", name, "%s_count{%s} %d" % (name, labels, h[-3]))
                put(name, "histogram", name, "%s_sum{%s} %s" % (name, labels, d(h[-2])))
                put(name + "_max", "gauge", name, "%s_max{%s} %s" % (name, labels, d(h[-1])))
        put("jvm_memory_used_bytes", "gauge", "The amount of used memory",
            'jvm_memory_used_bytes{area="heap",id="G1 Eden Space"} 2.5165824E7')
        put("camel_exchanges_total", "counter", "Total number of processed exchanges",
            'camel_exchanges_total{camelContext="camel-1",kind="CamelRoute",routeId="trace-poll"} %s' % d(self.windows))
        text = []
        for name in sorted(metrics):
            kind, help_text, lines = metrics[name]
            text.append("# HELP %s %s" % (name, help_text))
            text.append("# TYPE %s %s" % (name, kind))
            text.extend(lines)
        return "\n".join(text) + "\n"


def serve_fake(product, port=0):
    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            if self.path == "/observe/metrics":
                body, ctype, code = product.exposition().encode(), "text/plain; version=0.0.4; charset=utf-8", 200
            elif self.path == "/observe/health":
                body, ctype, code = b'{"status":"UP"}', "application/json", 200
            else:
                body, ctype, code = b"not found\n", "text/plain", 404
            self.send_response(code)
            self.send_header("Content-Type", ctype)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", port), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


# One scrape as Micrometer 1.15.6 + prometheus-metrics 1.3.10 write it (captured from the real registry).
MICROMETER_SAMPLE = r'''# HELP trace_checkpoint_lag_seconds now minus the end of the last committed window
# TYPE trace_checkpoint_lag_seconds gauge
trace_checkpoint_lag_seconds{api="reporting"} NaN
# HELP trace_records_forwarded_total records a sink took
# TYPE trace_records_forwarded_total counter
trace_records_forwarded_total{api="reporting",sink="file"} 120.0
# HELP trace_row_lateness_seconds late
# TYPE trace_row_lateness_seconds histogram
trace_row_lateness_seconds_bucket{api="reporting",le="60.0"} 0
trace_row_lateness_seconds_bucket{api="reporting",le="300.0"} 2
trace_row_lateness_seconds_bucket{api="reporting",le="+Inf"} 3
trace_row_lateness_seconds_count{api="reporting"} 3
trace_row_lateness_seconds_sum{api="reporting"} 1150.0
# HELP trace_rows_fetched_total rows read
# TYPE trace_rows_fetched_total counter
trace_rows_fetched_total{api="reporting",tenant="con\"to\\so"} 3.0
jvm_memory_used_bytes{area="heap",id="G1 Eden Space"} 2.5165824E7
# EOF
'''


def selftest(keep=None):
    checks = []

    def check(what, ok):
        checks.append((what, bool(ok)))
        print("%s %s" % ("ok  " if ok else "FAIL", what))

    samples = parse_exposition(MICROMETER_SAMPLE)
    by = {(n, format_labels(l)): v for n, l, v in samples}
    check("parses Micrometer's text", len(samples) == 9)
    check("NaN gauge", math.isnan(by[("trace_checkpoint_lag_seconds", 'api="reporting"')]))
    check("counter value", by[("trace_records_forwarded_total", 'api="reporting",sink="file"')] == 120.0)
    check("escaped label value", ("trace_rows_fetched_total", 'api="reporting",tenant="con\\"to\\\\so"') in by)
    check("exponent value", by[("jvm_memory_used_bytes", 'area="heap",id="G1 Eden Space"')] == 25165824.0)
    odd = {"api": "graph", "tenant": 'a"b\\c\td\ne'}
    check("label round trip", parse_labels(format_labels(odd), 0, end_char="")[0] == odd)
    check("durations", [fmt_duration(x) for x in (0, 5, 90, 3600, 5400, 86400)] == ["0", "5s", "1m30s", "1h", "1h30m", "1d"])

    for tenants in ((), ("contoso", "fabrikam")):
        folder = keep or tempfile.mkdtemp(prefix="plot-scrape-")
        os.makedirs(folder, exist_ok=True)
        stem = os.path.join(folder, "selftest-" + ("tenants" if tenants else "single"))
        for suffix in (".tsv", ".svg"):
            if os.path.exists(stem + suffix):
                os.remove(stem + suffix)
        server = serve_fake(FakeProduct(step=0.5, tenants=tenants))
        url = "http://127.0.0.1:%d/observe/metrics" % server.server_address[1]
        try:
            with open(os.devnull, "w") as quiet:
                done, failed = record(url, stem + ".tsv", 0.25, 3.0, log=quiet)
        finally:
            server.shutdown()
            server.server_close()
        check("%s: %d scrapes recorded (13 due), none failed" % (stem, done), done >= 10 and failed == 0)
        recorded = load(stem + ".tsv")
        names = {n for rows in recorded.values() for n, _, _ in rows}
        check("only trace_* kept", names and all(n.startswith("trace_") for n in names))
        summary = plot(stem + ".tsv", stem + ".svg")
        check("plotted %s" % summary, summary["forwarded"] == 3 and summary["pending"] == 3
              and summary["lag"] == max(1, len(tenants)) and summary["buckets"] == 11)
        root = ET.parse(stem + ".svg").getroot()
        groups = root.findall("{http://www.w3.org/2000/svg}g")
        check("SVG is XML with 4 panels", [g.get("id") for g in groups] == ["panel-1", "panel-2", "panel-3", "panel-4"])
        lines = root.findall(".//{http://www.w3.org/2000/svg}polyline")
        check("a line per lag source and per sink", len(lines) >= max(1, len(tenants)) + 3 + 3)
        if not keep:
            for suffix in (".tsv", ".svg"):
                os.remove(stem + suffix)
            os.rmdir(folder)
    failed = [w for w, ok in checks if not ok]
    print("selftest: %d passed, %d failed" % (len(checks) - len(failed), len(failed)))
    return 1 if failed else 0


# ---------------------------------------------------------------- command line

def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0],
                                     epilog=__doc__.split("\n", 2)[2], formatter_class=argparse.RawDescriptionHelpFormatter)
    commands = parser.add_subparsers(dest="command", required=True)
    rec = commands.add_parser("record", help="scrape a metrics URL into a TSV file")
    rec.add_argument("url", help="metrics URL, e.g. http://127.0.0.1:9876/observe/metrics")
    rec.add_argument("out", help="TSV file, appended to")
    rec.add_argument("--every", type=float, default=5.0, help="seconds between scrapes (default 5)")
    rec.add_argument("--for", dest="duration", type=float, default=180.0,
                     help="seconds to record (default 180; 0: until Ctrl-C)")
    rec.add_argument("--prefix", default="trace_", help="keep series whose name starts with this (default trace_)")
    rec.add_argument("--timeout", type=float, default=10.0, help="seconds one scrape may take (default 10)")
    plo = commands.add_parser("plot", help="draw a recording as an SVG")
    plo.add_argument("tsv", help="a recording made by record")
    plo.add_argument("svg", help="the picture to write")
    plo.add_argument("--title", help="title of the picture")
    sel = commands.add_parser("selftest", help="check record and plot against made-up metrics")
    sel.add_argument("--keep", metavar="DIR", help="leave the recordings and pictures in DIR")
    sel.add_argument("--serve", action="store_true", help="only serve made-up metrics until Ctrl-C")
    sel.add_argument("--port", type=int, default=0, help="port for --serve (default: a free one)")
    sel.add_argument("--step", type=float, default=5.0, help="seconds between made-up windows for --serve (default 5)")
    sel.add_argument("--tenants", default="", help="comma-separated made-up tenants for --serve (default: none)")
    args = parser.parse_args(argv)

    if args.command == "record":
        if args.every <= 0 or args.duration < 0:
            parser.error("--every must be > 0 and --for >= 0")
        done, _ = record(args.url, args.out, args.every, args.duration, args.prefix, args.timeout)
        return 0 if done else 1
    if args.command == "plot":
        summary = plot(args.tsv, args.svg, args.title)
        print("%s: %d scrapes; lag lines %d, sinks forwarded %d, sinks pending %d, lateness buckets %d" % (
            args.svg, summary["scrapes"], summary["lag"], summary["forwarded"], summary["pending"], summary["buckets"]))
        return 0
    if args.serve:
        tenants = tuple(t for t in args.tenants.split(",") if t)
        server = serve_fake(FakeProduct(step=args.step, tenants=tenants), args.port)
        print("made-up metrics at http://127.0.0.1:%d/observe/metrics (Ctrl-C to stop)" % server.server_address[1],
              flush=True)
        try:
            while True:
                time.sleep(3600)
        except KeyboardInterrupt:
            server.shutdown()
        return 0
    return selftest(args.keep)


if __name__ == "__main__":
    sys.exit(main())
