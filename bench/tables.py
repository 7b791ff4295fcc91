"""From run records to one Markdown table per workload phase, request counts, and the issue's targets.

Ratios are of median wall times: "× best peer" = this tool's median ÷ the fastest correct peer's median
(below 1 = faster than every peer), "× ceiling" = this tool's median ÷ the raw boto3 ceiling's median.
"""

from __future__ import annotations

from collections import defaultdict

from common import median

ROLE_ORDER = {"bucketsync": 0, "peer": 1, "ceiling": 2}


def _groups(records: list[dict]) -> dict[tuple[str, str], dict[str, list[dict]]]:
    grouped: dict[tuple[str, str], dict[str, list[dict]]] = defaultdict(lambda: defaultdict(list))
    for record in records:
        grouped[(record["workload"], record["phase"])][record["tool"]].append(record)
    return grouped


def summarise(records: list[dict]) -> list[dict]:
    """One summary per (workload, phase, tool) with medians, ranges and the two ratios."""
    summaries = []
    for (workload, phase), by_tool in _groups(records).items():
        rows = {}
        for tool, runs in by_tool.items():
            walls = [run["wall_s"] for run in runs]
            rows[tool] = {
                "workload": workload,
                "phase": phase,
                "tool": tool,
                "role": runs[0]["role"],
                "runs": len(runs),
                "objects": runs[0]["objects"],
                "correct_runs": sum(1 for run in runs if run["correct"]),
                "wall_median_s": round(median(walls), 3),
                "wall_min_s": min(walls),
                "wall_max_s": max(walls),
                "objects_per_s": round(runs[0]["objects"] / median(walls), 1) if median(walls) else None,
                "mb_per_s": round(runs[0]["bytes"] / 2**20 / median(walls), 2) if runs[0]["bytes"] and median(walls) else None,
                "cpu_median_s": round(median([run["cpu_s"] for run in runs]), 2),
                "peak_rss_max_mib": max(run["peak_rss_mib"] for run in runs),
                "server_cpu_median_s": _median_or_none([run.get("server_cpu_s") for run in runs]),
                "requests_median": _median_requests(runs),
                "coordinator_rss_max_mib": _max_or_none([run.get("extras", {}).get("coordinator_rss_mib") for run in runs]),
                "notes": _notes(runs),
            }
        peers = [row for row in rows.values() if row["role"] == "peer"]
        correct_peers = [row for row in peers if row["correct_runs"] == row["runs"]]
        best = min(correct_peers or peers, key=lambda row: row["wall_median_s"], default=None)
        ceiling = rows.get("ceiling")
        for row in rows.values():
            row["best_peer"] = best["tool"] if best else None
            row["best_peer_all_correct"] = bool(correct_peers)
            row["x_best_peer"] = round(row["wall_median_s"] / best["wall_median_s"], 4) if best and best["wall_median_s"] else None
            row["x_ceiling"] = round(row["wall_median_s"] / ceiling["wall_median_s"], 4) if ceiling and ceiling["wall_median_s"] else None
        summaries.extend(sorted(rows.values(), key=lambda row: (ROLE_ORDER.get(row["role"], 9), row["tool"])))
    return summaries


def _median_or_none(values: list) -> float | None:
    present = [value for value in values if value is not None]
    return round(median(present), 2) if present else None


def _max_or_none(values: list) -> float | None:
    present = [value for value in values if value is not None]
    return max(present) if present else None


def _median_requests(runs: list[dict]) -> dict[str, float] | None:
    if any(run.get("requests") is None for run in runs):
        return None
    operations = {op for run in runs for op in run["requests"]}
    result = {op: median([run["requests"].get(op, 0) for run in runs]) for op in operations}
    return dict(sorted(result.items(), key=lambda item: -item[1]))


def _notes(runs: list[dict]) -> str:
    notes = []
    extras = [run.get("extras", {}) for run in runs]
    unprotected = [extra["unprotected_seconds"] for extra in extras if extra.get("unprotected_seconds") is not None]
    if unprotected and runs[0]["workload"] == "W4" and "initial" in runs[0]["phase"]:
        notes.append(f"unprotected max {max(unprotected):.1f} s")
    if any("changes" in extra for extra in extras):
        reached = [f"{extra.get('changes_reached')}/{extra.get('changes')}" for extra in extras]
        notes.append("changes reached " + ", ".join(reached))
    loops = [extra["loop_seconds"] for extra in extras if "loop_seconds" in extra]
    if loops:
        notes.append(f"lock loop {median(loops):.1f} s of it")
    loop_errors = [extra["loop_errors"] for extra in extras if extra.get("loop_errors", 0) > 0]
    if loop_errors:
        notes.append(f"loop errors {max(loop_errors)}")
    failed = [extra["failed"] for extra in extras if extra.get("failed")]
    if failed:
        notes.append(f"tool reported {max(failed)} failed")
    writes = [extra.get("requests_to_dest_that_write") for extra in extras]
    if "no-change" in runs[0]["phase"] and any(writes):
        notes.append(f"writes in no-change run: {max(w or 0 for w in writes)}")
    coordinator = [extra["coordinator_rss_mib"] for extra in extras if extra.get("coordinator_rss_mib")]
    if coordinator:
        notes.append(f"worker pool processes (coordinator) peak RSS {max(coordinator):.0f} MiB, "
                     f"submitter {max(extra.get('submitter_rss_mib') or 0 for extra in extras):.0f} MiB; "
                     f"workers' CPU {median([extra.get('workers_cpu_s') or 0 for extra in extras]):.2f} s of the CPU figure")
    lock_after = [extra.get("lock_set_after_write") for extra in extras if extra.get("lock_set_after_write")]
    if lock_after:
        notes.append(f"lock set after write: {max(lock_after)}")
    for run in runs:
        if not run["correct"]:
            verdict = run["verdict"]
            problems = {k: verdict[k] for k in ("missing", "extra", "size_mismatch", "content_mismatch", "lock_mismatch") if verdict[k]}
            if run["exit_code"]:
                problems["exit"] = run["exit_code"]
            if run["timed_out"]:
                problems["timed_out"] = True
            notes.append("round {}: {}".format(run["repeat"] + 1, ", ".join(f"{k} {v}" for k, v in problems.items())))
    bytes_note = {run["verdict"].get("note") for run in runs if run["verdict"].get("note")}
    notes.extend(sorted(note for note in bytes_note if "ETag" in note))
    return "; ".join(notes)


def _fmt(value, pattern: str = "{:.2f}") -> str:
    return "–" if value is None else pattern.format(value)


def _ratio(value) -> str:
    if value is None:
        return "–"
    return f"{value:.2f}" if value >= 0.1 else f"{value:.3f}"


def render(summaries: list[dict]) -> str:
    out: list[str] = []
    by_phase: dict[tuple[str, str], list[dict]] = defaultdict(list)
    for row in summaries:
        by_phase[(row["workload"], row["phase"])].append(row)
    for (workload, phase), rows in by_phase.items():
        out.append(f"\n### {workload} — {phase}\n")
        out.append("| tool | correct | wall s median (min–max) | objects/s | MB/s | client CPU s | peak RSS MiB | server CPU s | × best peer | × ceiling | notes |")
        out.append("|---|---|---|---|---|---|---|---|---|---|---|")
        for row in rows:
            star = "" if row["best_peer_all_correct"] else "*"
            out.append(
                f"| {row['tool']} | {row['correct_runs']}/{row['runs']} | "
                f"{row['wall_median_s']:.2f} ({row['wall_min_s']:.2f}–{row['wall_max_s']:.2f}) | "
                f"{_fmt(row['objects_per_s'], '{:.0f}')} | {_fmt(row['mb_per_s'], '{:.1f}')} | {row['cpu_median_s']:.2f} | "
                f"{row['peak_rss_max_mib']:.0f} | {_fmt(row['server_cpu_median_s'])} | "
                f"{_ratio(row['x_best_peer'])}{star} | {_ratio(row['x_ceiling'])} | {row['notes']} |"
            )
        best = rows[0]["best_peer"]
        if best:
            out.append(f"\nbest peer: {best}" + ("" if rows[0]["best_peer_all_correct"] else " (* no peer was correct in every run)"))
        request_lines = [
            f"- {row['tool']}: " + ", ".join(f"{op} {count:g}" for op, count in row["requests_median"].items())
            for row in rows if row["requests_median"]
        ]
        if request_lines:
            out.append("\nS3 requests per run (median, from the server log):\n")
            out.extend(request_lines)
    return "\n".join(out)


def targets(summaries: list[dict]) -> list[dict]:
    """The issue's targets, checked against this run's medians."""
    def rows_of(workload: str, phase_word: str) -> dict[str, dict]:
        return {row["tool"]: row for row in summaries if row["workload"] == workload and phase_word in row["phase"]}

    results = []
    for workload in ("W1", "W2"):
        rows = rows_of(workload, "copy")
        ours = rows.get("bucketsync")
        peers = [rows[name] for name in ("aws", "s5cmd") if name in rows]
        if ours and peers:
            best = min(peers, key=lambda row: row["wall_median_s"])
            ratio = ours["wall_median_s"] / best["wall_median_s"]
            results.append({"target": f"{workload}: embedded at least as fast as the best of aws / s5cmd",
                            "measured": f"{ours['wall_median_s']:.2f} s vs {best['tool']} {best['wall_median_s']:.2f} s = {ratio:.2f}×",
                            "met": ratio <= 1.0 and ours["correct_runs"] == ours["runs"]})
        for name in ("bucketsync-dist-1w", "bucketsync-dist-2w"):
            dist = rows.get(name)
            if dist and peers:
                ratio = dist["wall_median_s"] / best["wall_median_s"]
                results.append({"target": f"{workload}: {name} within 10 % of the best of aws / s5cmd",
                                "measured": f"{dist['wall_median_s']:.2f} s vs {best['tool']} {best['wall_median_s']:.2f} s = {ratio:.2f}×",
                                "met": ratio <= 1.10 and dist["correct_runs"] == dist["runs"]})
    for layout in ("flat", "p100", "deep"):
        rows = rows_of("W6", layout)
        peers = [rows[name] for name in ("s5cmd", "rclone-checksum", "rclone-fast-list", "aws") if name in rows]
        best = min(peers, key=lambda row: row["wall_median_s"]) if peers else None
        one, four = rows.get("bucketsync-dist-1w"), rows.get("bucketsync-dist-4w")
        if one and four:
            speedup = one["wall_median_s"] / four["wall_median_s"]
            results.append({"target": f"W6 {layout}: distributed 4 processes at least 2.5× as fast as 1",
                            "measured": f"{one['wall_median_s']:.2f} s / {four['wall_median_s']:.2f} s = {speedup:.2f}×",
                            "met": speedup >= 2.5})
        if four and best:
            ratio = four["wall_median_s"] / best["wall_median_s"]
            results.append({"target": f"W6 {layout}: distributed 4 processes faster than every peer",
                            "measured": f"{four['wall_median_s']:.2f} s vs {best['tool']} {best['wall_median_s']:.2f} s = {ratio:.2f}×",
                            "met": ratio < 1.0})
        if "bucketsync" in rows and best:
            ratio = rows["bucketsync"]["wall_median_s"] / best["wall_median_s"]
            results.append({"target": f"W6 {layout}: embedded within 1.1× of the best peer",
                            "measured": f"{rows['bucketsync']['wall_median_s']:.2f} s vs {best['tool']} {best['wall_median_s']:.2f} s = {ratio:.2f}×",
                            "met": ratio <= 1.1})
    rows = rows_of("W3", "no-change")
    if "bucketsync" in rows and "s5cmd" in rows:
        ratio = rows["bucketsync"]["wall_median_s"] / rows["s5cmd"]["wall_median_s"]
        results.append({"target": "W3 no-change: within 1.2× of s5cmd (no lock pass: W3's source has no Object Lock)",
                        "measured": f"{rows['bucketsync']['wall_median_s']:.2f} s vs {rows['s5cmd']['wall_median_s']:.2f} s = {ratio:.2f}×",
                        "met": ratio <= 1.2})
    rows = rows_of("W7", "server-side")
    peers = [rows[name] for name in ("s5cmd", "rclone", "aws") if name in rows and rows[name]["correct_runs"] == rows[name]["runs"]]
    if "bucketsync" in rows and peers:
        ours, best = rows["bucketsync"], min(peers, key=lambda row: row["wall_median_s"])
        ratio = ours["wall_median_s"] / best["wall_median_s"]
        results.append({"target": "W7 server-side: at least as fast as the best of s5cmd / rclone / aws",
                         "measured": f"{ours['wall_median_s']:.2f} s vs {best['tool']} {best['wall_median_s']:.2f} s = {ratio:.2f}×",
                         "met": ratio <= 1.0 and ours["correct_runs"] == ours["runs"]})
    rows = rows_of("W7", "streamed")
    if "bucketsync" in rows and "rclone" in rows:
        ours, rclone = rows["bucketsync"], rows["rclone"]
        ratio = ours["wall_median_s"] / rclone["wall_median_s"]
        results.append({"target": "W7 streamed: within 1.2× of rclone",
                        "measured": f"{ours['wall_median_s']:.2f} s vs {rclone['wall_median_s']:.2f} s = {ratio:.2f}×",
                        "met": ratio <= 1.2 and ours["correct_runs"] == ours["runs"]})
    for phase_word in ("initial", "lock change"):
        rows = rows_of("W4", phase_word)
        if "bucketsync" in rows and "aws+loop" in rows:
            ratio = rows["aws+loop"]["wall_median_s"] / rows["bucketsync"]["wall_median_s"]
            ours = rows["bucketsync"]
            results.append({"target": f"W4 {phase_word}: ≥ 10× faster than aws s3 sync + lock loop, every lock correct",
                            "measured": f"aws+loop {rows['aws+loop']['wall_median_s']:.2f} s / bucketsync {ours['wall_median_s']:.2f} s = {ratio:.1f}×; "
                                        f"bucketsync correct {ours['correct_runs']}/{ours['runs']}",
                            "met": ratio >= 10 and ours["correct_runs"] == ours["runs"]})
    rows = rows_of("W4", "no-change")
    if "bucketsync" in rows:
        ours = rows["bucketsync"]
        results.append({"target": "W4 no-change (the lock pass, 2 HEADs per object): ≤ 4 s for 2,000 objects at the defaults",
                        "measured": f"{ours['wall_median_s']:.2f} s for {ours['objects']} objects; correct {ours['correct_runs']}/{ours['runs']}",
                        "met": ours["wall_median_s"] <= 4.0 * ours["objects"] / 2000 and ours["correct_runs"] == ours["runs"]})
    for tool, field, what in (("bucketsync", "peak_rss_max_mib", "embedded peak RSS"),
                              ("bucketsync-dist-1w", "coordinator_rss_max_mib", "coordinator (1 worker process) peak RSS"),
                              ("bucketsync-dist-2w", "coordinator_rss_max_mib", "coordinator (2 worker processes) peak RSS")):
        w5 = sorted((row for row in summaries if row["workload"] == "W5" and row["tool"] == tool and row.get(field)),
                    key=lambda row: int(row["phase"].split()[-1]))
        if len(w5) >= 2:
            small, large = w5[0], w5[-1]
            growth = large[field] / small[field] - 1
            results.append({"target": f"W5: {what} growth from the small to the large bucket under 20 %",
                            "measured": f"{small['phase']}: {small[field]:.0f} MiB, {large['phase']}: {large[field]:.0f} MiB, {growth:+.0%}",
                            "met": growth < 0.20})
    return results


def render_targets(results: list[dict]) -> str:
    if not results:
        return ""
    lines = ["\n### Targets (issues 7, 22)\n", "| target | measured | met |", "|---|---|---|"]
    for item in results:
        lines.append(f"| {item['target']} | {item['measured']} | {'yes' if item['met'] else 'NO'} |")
    return "\n".join(lines)
