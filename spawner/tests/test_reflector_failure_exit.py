"""A hub whose pod reflector cannot recover exits loudly instead of serving
a stale cache (a real process, so the exit itself is observed)."""

import asyncio
import sys
import textwrap

HUB_PROCESS = textwrap.dedent(
    """
    import asyncio
    import logging

    from testsupport.spawners import StubUser, real_spawner

    async def main():
        spawner = real_spawner(
            user=StubUser("x", 1), namespace="default", reflector_max_failures=3
        )
        print("poll:", await spawner.poll(), flush=True)
        await asyncio.sleep(120)
        print("still running", flush=True)

    logging.basicConfig(level=logging.WARNING)  # a hub logs to stderr
    asyncio.run(main())
    """
)


async def test_hub_process_exits_when_the_reflector_gives_up(sim, tmp_path):
    script = tmp_path / "hub.py"
    script.write_text(HUB_PROCESS)
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        str(script),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        line = await asyncio.wait_for(proc.stdout.readline(), 60)
        assert line.decode().strip() == "poll: 1"  # running, reflector loaded
        sim.faults.fail(resource="pods", status=500)
        sim.cut_watches("pods")
        code = await asyncio.wait_for(proc.wait(), 60)
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()
    stderr = (await proc.stderr.read()).decode()
    assert code == 1
    assert "Exiting: The pod reflector for namespace default failed 3 times" in stderr
    assert "still running" not in (await proc.stdout.read()).decode()
