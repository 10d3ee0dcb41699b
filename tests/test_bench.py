"""The benchmark's reading of wrk and its table (the benchmark itself runs with `make bench`)."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path
from types import ModuleType

import httpx
import pytest
import redis

from .modules import load_script


@pytest.fixture(scope="module")
def bench() -> ModuleType:
    return load_script("benchmarks/bench.py")


WRK_OUTPUT = """Running 10s test @ http://127.0.0.1:40001/billing
  1 threads and 50 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency     5.10ms    2.00ms  60.00ms   90.00%
  95000 requests in 10.00s, 50.00MB read
  Non-2xx or 3xx responses: 3
Requests/sec:   9500.00
BENCH {"requests": 95000, "duration_us": 10000000, "p50_us": 4800, "p99_us": 12500, "max_us": 60000, \
"non2xx": 5, "connect": 0, "read": 1, "write": 0, "timeout": 2}
"""


def test_parse_wrk_reads_the_bench_line_and_counts_every_error(bench: ModuleType) -> None:
    result = bench.parse_wrk(WRK_OUTPUT)
    assert result["rps"] == pytest.approx(9500.0)
    assert result["p50_ms"] == pytest.approx(4.8)
    assert result["p99_ms"] == pytest.approx(12.5)
    assert result["errors"] == 8  # 5 non-2xx (3xx included) + 1 read + 2 timeouts


def test_parse_wrk_without_the_bench_line_fails_loudly(bench: ModuleType) -> None:
    with pytest.raises(ValueError, match="no BENCH line"):
        bench.parse_wrk("Requests/sec: 100\n")


def _sample(bench: ModuleType, server: str, operation: str, conns: int, rnd: int, rps: float, p99: float) -> object:
    return bench.Sample(server, operation, conns, rnd, rps, p99 / 4, p99, 0)


def test_summary_and_table(bench: ModuleType) -> None:
    get = bench.OPERATIONS[0].name
    samples = [
        _sample(bench, bench.MOCK, get, 10, 1, 9000, 4.0),
        _sample(bench, bench.MOCK, get, 10, 2, 11000, 6.0),
        _sample(bench, bench.PRISM_NAME, get, 10, 1, 5000, 8.0),
        _sample(bench, bench.PRISM_NAME, get, 10, 2, 5000, 9.0),
        _sample(bench, bench.CEILING, get, 10, 1, 20000, 2.0),
        _sample(bench, bench.CEILING, get, 10, 2, 20000, 2.0),
        _sample(bench, bench.MOCK_100K, get, 10, 1, 8000, 5.0),
    ]
    summaries = bench.summarize(samples)
    mock = summaries[(get, 10, bench.MOCK)]
    assert (mock.rps, mock.rps_low, mock.rps_high, mock.p99_ms, mock.rounds) == (10000, 9000, 11000, 6.0, 2)

    table = bench.render(
        summaries,
        startup={bench.MOCK: 0.8, bench.PRISM_NAME: 1.2, bench.CEILING: 0.3, bench.MOCK_100K: 6.0},
        memory={bench.MOCK: (70.0, 75.0), bench.PRISM_NAME: (150.0, 160.0), bench.CEILING: (30.0, 30.0)},
        header=["Run on a test machine.", ""],
    )
    assert table.startswith("Run on a test machine.")
    assert f"| {get} | 10 | mock | 10,000 (9,000-11,000) | 1.25 | 6.00 | 0 |" in table
    assert f"| {get} | 10 | 2.00x | 0.50x | 6.00 vs 9.00 |" in table
    assert f"| {get} at 10: req/s >= 2.0x Prism | yes |" in table
    assert f"| {get} at 10: p99 no worse than Prism | yes |" in table
    assert f"| {get} at 10: with 100,000 organizations within 10% (0.80x) | **no** |" in table
    assert "| mock: start-up < 1 s | yes |" in table
    assert "| mock --generate 100000: start-up < 5 s | **no** |" in table
    assert "| mock: RSS after the run < 120 MiB | yes |" in table


def test_the_table_says_how_the_mock_scales_on_redis(bench: ModuleType) -> None:
    get, post = (operation.name for operation in bench.OPERATIONS)
    samples = [
        _sample(bench, bench.MOCK, get, 50, 1, 8000, 4.0),
        _sample(bench, bench.MOCK_REDIS, get, 50, 1, 4000, 8.0),
        _sample(bench, bench.MOCK_REDIS_2W, get, 50, 1, 8800, 6.0),
        _sample(bench, bench.MOCK, post, 50, 1, 6000, 4.0),
        _sample(bench, bench.MOCK_REDIS_2W, post, 50, 1, 3000, 9.0),
    ]
    names = (bench.MOCK, bench.MOCK_REDIS, bench.MOCK_REDIS_2W)
    table = bench.render(bench.summarize(samples), startup=dict.fromkeys(names, 0.5), memory={})
    assert f"| {get} | 50 | 0.50x | 1.10x |" in table
    assert f"| {post} | 50 | - | 0.50x |" in table
    assert f"| {get} at 50: 2 workers on Redis >= 1 process on memory | yes |" in table
    assert f"| {post} at 50: 2 workers on Redis >= 1 process on memory | **no** |" in table


def test_the_redis_rows_run_on_a_redis_server_the_bench_starts(bench: ModuleType) -> None:
    chosen = bench.servers(["mock-redis", "mock-redis-2w"])
    assert [server.name for server in chosen] == [bench.MOCK_REDIS, bench.MOCK_REDIS_2W]
    try:
        one, two = (server.command(8000) for server in chosen)
        server = f"redis://127.0.0.1:{bench.RedisServer.port}/0"
        assert one[-2:] == ["--state", f"{server}?namespace=one"]
        assert two[-4:] == ["--state", f"{server}?namespace=two", "--workers", "2"]  # one server, two namespaces
        client = redis.Redis.from_url(server)
        assert client.ping()
        client.close()
    finally:
        bench.RedisServer.stop()
    assert bench.RedisServer.process is None


def test_the_table_says_what_latency_the_proxy_adds(bench: ModuleType) -> None:
    get, post = (operation.name for operation in bench.OPERATIONS)
    samples = [
        bench.Sample(bench.MOCK, get, 1, 1, 3000, 0.30, 0.5, 0),
        bench.Sample(bench.MOCK_PROXY, get, 1, 1, 1200, 1.10, 2.0, 0),
        bench.Sample(bench.MOCK, post, 1, 1, 2500, 0.40, 0.6, 0),
        bench.Sample(bench.MOCK_PROXY, post, 1, 1, 400, 2.65, 4.0, 0),
        bench.Sample(bench.MOCK, get, 10, 1, 9000, 1.0, 2.0, 0),
        bench.Sample(bench.MOCK_PROXY, get, 10, 1, 3000, 3.5, 6.0, 0),
    ]
    table = bench.render(bench.summarize(samples), startup={bench.MOCK: 0.5, bench.MOCK_PROXY: 1.5}, memory={})
    assert f"| {get} | 1 | 0.80 |" in table and f"| {post} | 1 | 2.25 |" in table
    assert f"| {get} | 10 | 2.50 |" in table, "shown at every concurrency"
    assert f"| {get} at 1: the proxy adds < 2 ms at the median | yes |" in table
    assert f"| {post} at 1: the proxy adds < 2 ms at the median | **no** |" in table
    assert f"{get} at 10: the proxy adds" not in table, "judged at one connection only"


def test_the_proxy_row_forwards_to_a_mock_the_bench_starts(bench: ModuleType) -> None:
    (server,) = bench.servers(["mock-proxy"])
    try:
        command = server.command(8000)
        upstream = f"http://127.0.0.1:{bench.ProxiedMock.port}"
        assert command[-2:] == ["--proxy", upstream]
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                answer = httpx.get(upstream + "/__mock__/health", timeout=5)
                break
            except httpx.ConnectError:
                time.sleep(0.05)
        assert answer.status_code == 200
    finally:
        bench.ProxiedMock.stop()
    assert bench.ProxiedMock.process is None


@pytest.mark.socket
def test_the_sandbox_benchmark_measures_creation_and_memory() -> None:
    done = subprocess.run(
        [sys.executable, "benchmarks/sandboxes.py", "--creates", "50", "--count", "50"],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=Path(__file__).resolve().parent.parent,
    )
    assert "create a sandbox (POST /__mock__/sandboxes), median of 50" in done.stdout, done.stderr
    assert "RSS added by 50 sandboxes with one paid checkout each" in done.stdout
