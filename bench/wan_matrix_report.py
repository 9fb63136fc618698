#!/usr/bin/env python3
"""Turns the raw results of bench/wan-matrix.sh (one directory) into the markdown tables it prints.

Usage: wan_matrix_report.py WORKDIR FILE_BYTES
WORKDIR holds L1..L6 (one per link) and fair/, each with: link ("rate delay loss queue"), emu.log (the emulator's
NDJSON counters every 100 ms), server.log, and per phase PREFIX.time ("start_ms end_ms exit_code") plus
PREFIX.json (ferry --json or iperf3 -J output) or PREFIX.stamped (ferry NDJSON, each line prefixed with arrival ms).
"""
import json
import os
import re
import sys

RATE_UNITS = {"k": 1e3, "K": 1e3, "M": 1e6, "G": 1e9}


def rate_bps(s):
    return float(s[:-1]) * RATE_UNITS[s[-1]] if s[-1] in RATE_UNITS else float(s)


def read_time(path):
    try:
        t0, t1, rc = open(path).read().split()
        return int(t0), int(t1), int(rc)
    except (OSError, ValueError):
        return None


def json_lines(path, stamped=False):
    out = []
    try:
        for line in open(path):
            stamp = None
            if stamped:
                stamp, _, line = line.partition(" ")
            line = line.strip()
            if line.startswith("{"):
                try:
                    ev = json.loads(line)
                except ValueError:
                    continue
                if stamp is not None:
                    ev["_ms"] = int(stamp)
                out.append(ev)
    except OSError:
        pass
    return out


def done_event(events):
    return next((e for e in reversed(events) if e.get("event") == "done"), None)


def intervals(emu_log, direction, t0, t1):
    """Emulator intervals of one direction that ended inside [t0, t1 + 300 ms]."""
    return [e for e in json_lines(emu_log)
            if e.get("event") == "interval" and e.get("dir") == direction and t0 < e["unix_ms"] <= t1 + 300]


def final_counters(emu_log):
    return {e["dir"]: e for e in json_lines(emu_log) if e.get("event") == "final"}


def time_to_90(ivs, link_bps):
    first = next((e for e in ivs if e["packets_in"] > 0), None)
    if first is None:
        return None
    t_first = first["unix_ms"] - first["span"] * 1000
    hit = next((e for e in ivs if e["unix_ms"] >= first["unix_ms"] and e["out_mbps"] * 1e6 >= 0.9 * link_bps), None)
    return None if hit is None else (hit["unix_ms"] - t_first) / 1000


def iperf_result(path):
    try:
        d = json.load(open(path))
        end = d["end"]
        return end["sum_received"]["bits_per_second"] / 1e6, end["sum_sent"].get("retransmits", 0)
    except (OSError, ValueError, KeyError):
        return None


def fmt(v, spec="{:.1f}", none="-"):
    if v is None:
        return none
    text = spec.format(v)
    return text[1:] if text.startswith("-") and float(text) == 0 else text  # no "-0.00"


def server_retransmitted(server_log, name):
    pat = re.compile(r"received " + re.escape(name) + r" \((\d+) bytes, (\d+) retransmitted\)")
    hits = [pat.search(line) for line in open(server_log)] if os.path.exists(server_log) else []
    hits = [h for h in hits if h]
    return int(hits[-1].group(2)) if hits else None


def transfer(d, phase, direction, file_bytes, link_bps):
    """Goodput, retransmission ratios, time to 90% for one ferry transfer."""
    r = {"ok": False}
    t = read_time(os.path.join(d, phase + ".time"))
    if t is None:
        return r
    t0, t1, rc = t
    ev = json_lines(os.path.join(d, phase + ".json"))
    done = done_event(ev)
    cmp_ok = open(os.path.join(d, phase + ".cmp")).read().strip() == "ok" if os.path.exists(os.path.join(d, phase + ".cmp")) else False
    r["rc"] = rc
    r["ok"] = rc == 0 and done is not None and cmp_ok
    r["goodput"] = file_bytes * 8 / ((t1 - t0) / 1000) / 1e6 if r["ok"] else None
    r["wall"] = (t1 - t0) / 1000
    # The transfer alone (ferry's own clock, without process start-up): says how much the whole-command
    # definition costs.
    r["inner"] = file_bytes * 8 / done["seconds"] / 1e6 if r["ok"] and done.get("seconds") else None
    if not r["ok"]:
        err = next((e for e in ev if e.get("event") == "error"), None)
        r["why"] = (err or {}).get("message") or ("timeout" if rc == 124 else f"exit {rc}" + ("" if cmp_ok else ", cmp failed"))
    retrans = None
    if done is not None and phase == "up":
        retrans = done.get("data_bytes_retransmitted")
    elif phase == "down":
        retrans = server_retransmitted(os.path.join(d, "server.log"), "dl.bin")
    ivs = intervals(os.path.join(d, "emu.log"), direction, t0, t1)
    bytes_in = sum(e["bytes_in"] for e in ivs)
    dropped = sum(e["lost_bytes"] + e["queue_drop_bytes"] for e in ivs)
    pk_in = sum(e["packets_in"] for e in ivs)
    r["link_loss"] = 100 * sum(e["lost"] + e["queue_drops"] for e in ivs) / pk_in if pk_in else None
    r["queue_drops"] = sum(e["queue_drops"] for e in ivs)
    if retrans is not None:
        r["retrans"] = 100 * retrans / file_bytes
        # IP bytes dropped by the link, scaled to DATA bytes by the share of DATA in what entered the link.
        dropped_data = dropped * (file_bytes + retrans) / bytes_in if bytes_in else 0
        r["excess"] = 100 * (retrans - dropped_data) / file_bytes
    r["t90"] = time_to_90(ivs, link_bps)
    return r


def target_for(rate, loss):
    if rate != 100e6:
        return None
    return {0.0: 93, 1.0: 93, 5.0: 88, 10.0: 80}.get(loss)


# Ferry's default datagram is 1452 bytes (1500-byte MTU minus IPv6 40 + UDP 8) = 1480 IPv4 bytes on the link;
# it carries 20 header + 4 CRC + 7 DATA frame header (type, 4-byte offset varint below 1 GiB, 2-byte length) bytes
# of overhead, so 1421 file bytes per 1480 link bytes. Loss is on the wire after the bottleneck (WanEmu's default),
# so lost packets used link time: the most file data the link can carry is rate * 1421/1480 * (1 - loss).
FILE_PER_PACKET = 1421
LINK_PER_PACKET = 1480


# bench/wan-matrix.sh --loss-before-queue: packets are lost before the bottleneck (netem's placement) and use no link time.
LOSS_BEFORE_QUEUE = os.environ.get("WAN_LOSS_BEFORE_QUEUE") == "1"


def ceiling(link_bps, loss_pct):
    if LOSS_BEFORE_QUEUE:
        return link_bps / 1e6 * FILE_PER_PACKET / LINK_PER_PACKET
    return link_bps / 1e6 * FILE_PER_PACKET / LINK_PER_PACKET * (1 - loss_pct / 100)


def whole_bound(link_bps, loss_pct, rtt_s, file_bytes):
    # The whole command also pays at least 2 round trips: the handshake (stateless SERVER_HELLO) before the first data
    # leaves, and the last data and RESULT after (upload), or the REQUEST before the first data arrives (download).
    c = ceiling(link_bps, loss_pct)
    return file_bytes * 8 / 1e6 / (file_bytes * 8 / 1e6 / c + 2 * rtt_s)


def matrix(work, file_bytes):
    dirs = sorted((x for x in os.listdir(work) if re.fullmatch(r"L\d+", x)), key=lambda x: int(x[1:]))
    if not dirs:
        return
    print("| link (rate / one-way delay / loss / queue) | ferry upload | ferry download | TCP BBR | TCP Cubic | target | ceiling (whole-command bound) | retrans % up / down | excess % up / down | to 90% (s) up / down | met |")
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    fidelity = []
    notes = []
    for x in dirs:
        d = os.path.join(work, x)
        rate, delay, loss, queue = open(os.path.join(d, "link")).read().split()
        link_bps = rate_bps(rate)
        loss_pct = float(loss.rstrip("%"))
        up = transfer(d, "up", "a->b", file_bytes, link_bps)
        down = transfer(d, "down", "b->a", file_bytes, link_bps)
        bbr = iperf_result(os.path.join(d, "bbr.json"))
        cubic = iperf_result(os.path.join(d, "cubic.json"))
        target = target_for(link_bps, loss_pct)
        met = []
        if target is not None:
            good = [t.get("goodput") for t in (up, down)]
            met.append(("goodput " + ("yes" if all(g is not None and g >= target for g in good) else "NO")))
        excess = [t.get("excess") for t in (up, down)]
        if all(e is not None for e in excess):
            met.append("excess<2% " + ("yes" if all(e < 2 for e in excess) else "NO"))
        rtt_ms = 2 * float(delay.rstrip("ms"))
        if rtt_ms >= 200:
            t90 = [t.get("t90") for t in (up, down)]
            met.append("90% in 2 s " + ("yes" if all(v is not None and v <= 2 for v in t90) else "NO"))
        for name, t in (("upload", up), ("download", down)):
            if not t["ok"]:
                notes.append(f"{rate}/{delay}/{loss}/{queue} ferry {name} failed: {t.get('why')}")

        def g(t):
            return fmt(t.get("goodput"), none="FAIL")

        print(f"| {rate} / {delay} / {loss} / {queue} | {g(up)} | {g(down)} | {fmt(bbr and bbr[0])} | {fmt(cubic and cubic[0])} | "
              f"{'>= ' + str(target) if target else '-'} | {ceiling(link_bps, loss_pct):.1f} ({whole_bound(link_bps, loss_pct, rtt_ms / 1000, file_bytes):.1f}) | {fmt(up.get('retrans'), '{:.2f}')} / {fmt(down.get('retrans'), '{:.2f}')} | "
              f"{fmt(up.get('excess'), '{:.2f}')} / {fmt(down.get('excess'), '{:.2f}')} | {fmt(up.get('t90'), '{:.1f}')} / {fmt(down.get('t90'), '{:.1f}')} | "
              f"{', '.join(met) or '-'} |")
        fin = final_counters(os.path.join(d, "emu.log"))
        fidelity.append((f"{rate} / {delay} / {loss} / {queue}", up, down, fin, bbr, cubic))
    print()
    print("Goodput in Mbit/s = file bytes / wall time of the whole command; TCP rows: iperf3 receiver rate of one flow"
          " for about as long as the ferry upload took. retrans = bytes ferry sent again / file bytes; excess = retrans"
          " minus the bytes the link actually dropped; to 90% = first packet to the end of the first 100 ms in which the"
          " link delivered >= 90% of its rate. ceiling = link rate x 1421/1480 (file bytes per link byte of a 1452-byte"
          " datagram)" + (" (loss is before the bottleneck, as netem's, so lost packets used no link time)" if LOSS_BEFORE_QUEUE else
          " x (1 - loss): loss is after the bottleneck, so lost packets used link time") + "; the bound in brackets"
          " adds the 2 round trips every command pays (upload: the handshake before the data leaves with the REQUEST, the last"
          " data and RESULT after; download: the handshake, then the REQUEST before the data comes back).")
    for n in notes:
        print(f"\n- {n}")
    print()
    print("Emulator check (data direction of each ferry transfer; lateness = delivery time minus scheduled time over the whole link run):")
    print()
    print("| link | ferry Mbit/s by its done event, up / down | dropped by link, upload % (queue drops) | dropped, download % (queue drops) | iperf3 retransmits BBR / Cubic | late p99 / max (us) a->b | b->a |")
    print("|---|---|---|---|---|---|---|")
    for name, up, down, fin, bbr, cubic in fidelity:
        ab, ba = fin.get("a->b", {}), fin.get("b->a", {})
        print(f"| {name} | {fmt(up.get('inner'))} / {fmt(down.get('inner'))} | {fmt(up.get('link_loss'), '{:.2f}')} ({up.get('queue_drops', '-')}) | {fmt(down.get('link_loss'), '{:.2f}')} ({down.get('queue_drops', '-')}) | "
              f"{bbr[1] if bbr else '-'} / {cubic[1] if cubic else '-'} | "
              f"{ab.get('late_p99_us', '-')} / {ab.get('late_max_us', '-')} | {ba.get('late_p99_us', '-')} / {ba.get('late_max_us', '-')} |")
    print()


def progress_points(path):
    pts = []
    for e in json_lines(path, stamped=True):
        if e.get("event") == "progress":
            pts.append((e["_ms"], e["bytes"]))
        elif e.get("event") == "done":
            pts.append((e["_ms"], e["bytes"]))
    return pts


def bytes_at(pts, ms):
    """Bytes done at time ms, linearly interpolated between progress points (0 before the first)."""
    if not pts or ms < pts[0][0]:
        return 0
    for (a_ms, a_b), (b_ms, b_b) in zip(pts, pts[1:]):
        if a_ms <= ms <= b_ms:
            return a_b + (b_b - a_b) * (ms - a_ms) / max(1, b_ms - a_ms)
    return pts[-1][1]


def fairness(work):
    d = os.path.join(work, "fair")
    if not os.path.isdir(d):
        return
    rate, delay, loss, queue = open(os.path.join(d, "link")).read().split()
    link_bps = rate_bps(rate)
    print(f"Fairness on {rate} / {delay} / {loss} / {queue}:")
    print()
    print("| run | flow | Mbit/s while both ran | share | target | met |")
    print("|---|---|---|---|---|---|")
    p1, p2 = progress_points(os.path.join(d, "two1.stamped")), progress_points(os.path.join(d, "two2.stamped"))
    if p1 and p2:
        w0, w1 = max(p1[0][0], p2[0][0]), min(p1[-1][0], p2[-1][0])
        if w1 > w0:
            b1, b2 = bytes_at(p1, w1) - bytes_at(p1, w0), bytes_at(p2, w1) - bytes_at(p2, w0)
            secs = (w1 - w0) / 1000
            for n, b in ((1, b1), (2, b2)):
                share = 100 * b / (b1 + b2) if b1 + b2 > 0 else 0
                ok = "yes" if 40 <= share <= 60 else "NO"
                print(f"| two ferry uploads ({secs:.1f} s overlap) | ferry #{n} | {b * 8 / secs / 1e6:.1f} | {share:.0f}% of both | 40-60% | {ok} |")
    else:
        print("| two ferry uploads | - | no progress events | - | 40-60% | NO |")
    it = read_time(os.path.join(d, "bbr.time"))
    ip = iperf_result(os.path.join(d, "bbr.json"))
    pm = progress_points(os.path.join(d, "mix.stamped"))
    if it and ip:
        t0, t1, _ = it
        secs = (t1 - t0) / 1000
        fb = bytes_at(pm, t1) - bytes_at(pm, t0)
        fm = fb * 8 / secs / 1e6
        tcp_share = 100 * ip[0] * 1e6 / link_bps
        print(f"| ferry + iperf3 -C bbr ({secs:.0f} s) | TCP BBR | {ip[0]:.1f} | {tcp_share:.0f}% of the link | >= 25% | {'yes' if tcp_share >= 25 else 'NO'} |")
        print(f"| | ferry | {fm:.1f} | {100 * fm * 1e6 / link_bps:.0f}% of the link | - | - |")
    else:
        print("| ferry + iperf3 -C bbr | - | iperf3 failed | - | >= 25% | NO |")
    print()


def main():
    work, file_bytes = sys.argv[1], int(sys.argv[2])
    matrix(work, file_bytes)
    fairness(work)


if __name__ == "__main__":
    main()
