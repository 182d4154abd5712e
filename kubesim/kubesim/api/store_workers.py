"""Small asyncio helpers shared by kubesim's background loops."""

from __future__ import annotations

import asyncio


async def cancel_and_wait(task: asyncio.Task | None) -> None:
    """Cancel a background loop and wait until it has finished."""
    if task is None:
        return
    task.cancel()
    try:
        await task
    except asyncio.CancelledError:
        pass


class KeyedWorker:
    """A controller loop over a de-duplicated queue of keys, as client-go's
    workqueue: a key queued again before it was synced is synced once.

    Subclasses implement `async sync(key)`; an ApiError from it is passed to
    `failed(key, error)`. Whatever feeds the queue calls `enqueue(key)`.
    """

    def __init__(self):
        self._queue: asyncio.Queue = asyncio.Queue()
        self._pending: set = set()
        self._task: asyncio.Task | None = None

    def start(self) -> None:
        self._task = asyncio.get_running_loop().create_task(self._run())

    async def stop(self) -> None:
        await cancel_and_wait(self._task)
        self._task = None

    def enqueue(self, key) -> None:
        if key not in self._pending:
            self._pending.add(key)
            self._queue.put_nowait(key)

    async def _run(self) -> None:
        from kubesim.model.errors import ApiError

        while True:
            key = await self._queue.get()
            self._pending.discard(key)
            try:
                await self.sync(key)
            except ApiError as error:
                self.failed(key, error)

    async def sync(self, key) -> None:
        raise NotImplementedError

    def failed(self, key, error) -> None:
        raise NotImplementedError


class StoreWorker(KeyedWorker):
    """A KeyedWorker fed by the store's changes.

    Subclasses also implement `initial()` (keys to look at on start) and
    `on_change(...)` (calls `enqueue(key)`).
    """

    def __init__(self, store):
        super().__init__()
        self.store = store

    def start(self) -> None:
        self.store.on_change.append(self.on_change)
        for key in self.initial():
            self.enqueue(key)
        super().start()

    async def stop(self) -> None:
        if self.on_change in self.store.on_change:
            self.store.on_change.remove(self.on_change)
        await super().stop()

    def initial(self) -> list:
        return []

    def on_change(self, event_type: str, rt, obj, old) -> None:
        raise NotImplementedError
