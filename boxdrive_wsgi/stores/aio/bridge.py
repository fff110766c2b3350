"""Run coroutines from synchronous threads: one event loop on a daemon thread, and the
two body bridges between sync and async byte streams.

``LoopThread`` owns the loop. ``call`` runs one coroutine to completion from a request
thread; ``call_with_body`` does the same while the *calling* thread serves the
coroutine's reads of a synchronous request body (so ``wsgi.input`` is only ever read by
the thread that owns the request, one chunk at a time, never whole).
``ChunkBridge`` turns an async iterator of chunks into a sync iterator with a bounded
buffer: the producer task on the loop waits for a free slot before it pulls the next
chunk, so a slow consumer holds the store back instead of growing memory; closing the
bridge cancels the producer and releases what the async body holds.

No Flask or Werkzeug here: this is store plumbing.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import os
import queue
import threading
from collections.abc import AsyncIterable, AsyncIterator, Awaitable, Callable, Coroutine
from typing import Any, BinaryIO, TypeVar

from ..errors import IncompleteBody
from ..model import ObjectInfo
from ..streams import CHUNK_SIZE, Readable

T = TypeVar("T")

#: Seconds ``LoopThread.stop`` waits for tasks to finish and the thread to end.
STOP_TIMEOUT = 10.0


class AsyncObjectBody:
    """What an async store's ``get_object`` returns: info plus an async iterable of chunks.

    ``on_close`` (a coroutine function) runs on the loop once the body is finished with:
    read to its end, failed, or closed early by the client.
    """

    def __init__(
        self,
        info: ObjectInfo,
        chunks: AsyncIterable[bytes],
        *,
        content_range: tuple[int, int] | None = None,
        on_close: Callable[[], Awaitable[None]] | None = None,
    ) -> None:
        self.info = info
        self.chunks = chunks
        self.content_range = content_range
        self._on_close = on_close

    async def aclose(self) -> None:
        if self._on_close is not None:
            on_close, self._on_close = self._on_close, None
            await on_close()


class LoopThread:
    """An event loop running forever on a daemon thread, for one process."""

    def __init__(self, name: str = "boxdrive-async-store") -> None:
        self.pid = os.getpid()
        self.loop = asyncio.new_event_loop()
        ready = threading.Event()
        self.thread = threading.Thread(target=self._run, args=(ready,), name=name, daemon=True)
        self.thread.start()
        ready.wait()

    def _run(self, ready: threading.Event) -> None:
        asyncio.set_event_loop(self.loop)
        self.loop.call_soon(ready.set)
        self.loop.run_forever()

    @property
    def alive(self) -> bool:
        return self.pid == os.getpid() and self.thread.is_alive() and not self.loop.is_closed()

    def submit(self, coro: Coroutine[Any, Any, T]) -> concurrent.futures.Future[T]:
        try:
            return asyncio.run_coroutine_threadsafe(coro, self.loop)
        except BaseException:
            coro.close()  # never scheduled: do not warn "never awaited"
            raise

    def stop(self, timeout: float = STOP_TIMEOUT) -> None:
        """Cancel every task, finish async generators, stop the loop and join the thread."""
        if self.pid != os.getpid() or self.loop.is_closed():
            return
        if self.thread.is_alive():
            with contextlib.suppress(BaseException):
                self.submit(self._cancel_all()).result(timeout)
            self.loop.call_soon_threadsafe(self.loop.stop)
            self.thread.join(timeout)
        if not self.thread.is_alive():
            self.loop.close()

    async def _cancel_all(self) -> None:
        current = asyncio.current_task()
        tasks = [t for t in asyncio.all_tasks() if t is not current]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        await self.loop.shutdown_asyncgens()


def wait(future: concurrent.futures.Future[T], timeout: float | None) -> T:
    """The future's result; on timeout or interruption the coroutine is cancelled.

    A ``TimeoutError`` raised by the store itself comes out unchanged (the future is
    done then); one raised here says the call made no progress for ``timeout`` seconds.
    """
    try:
        return future.result(timeout)
    except TimeoutError:
        if future.done():
            raise
        future.cancel()
        raise TimeoutError(f"store call made no progress in {timeout} seconds") from None
    except BaseException:
        future.cancel()
        raise


# --------------------------------------------------------------------------- request bodies

_Read = tuple[int, "asyncio.Future[bytes]"]


class SyncBodyReader(AsyncIterator[bytes]):
    """An async iterator over a sync body whose chunks are read by another thread.

    Each ``__anext__`` posts a read request to ``requests``; ``call_with_body`` serves it
    in the calling thread and settles the asyncio future. Reads never exceed ``size``
    (PEP 3333) and a body ending before ``size`` raises IncompleteBody. Errors from
    ``read`` are raised into the store as the very same object.
    """

    def __init__(
        self,
        loop: asyncio.AbstractEventLoop,
        requests: queue.SimpleQueue[_Read | None],
        size: int | None,
    ) -> None:
        self._loop = loop
        self._requests = requests
        self._remaining = size

    def __aiter__(self) -> SyncBodyReader:
        return self

    async def __anext__(self) -> bytes:
        remaining = self._remaining
        if remaining == 0:
            raise StopAsyncIteration
        want = CHUNK_SIZE if remaining is None else min(CHUNK_SIZE, remaining)
        future: asyncio.Future[bytes] = self._loop.create_future()
        self._requests.put((want, future))
        chunk = await future
        if not chunk:
            self._remaining = 0
            if remaining:
                raise IncompleteBody(remaining)
            raise StopAsyncIteration
        if remaining is not None:
            self._remaining = remaining - len(chunk)
        return chunk


def _settle(
    future: asyncio.Future[bytes], chunk: bytes | None, error: BaseException | None
) -> None:
    if future.done():
        return
    if error is not None:
        future.set_exception(error)
    else:
        future.set_result(chunk or b"")


def call_with_body(
    runner: LoopThread,
    make: Callable[[AsyncIterator[bytes]], Coroutine[Any, Any, T]],
    body: Readable | BinaryIO,
    size: int | None,
    timeout: float | None,
) -> T:
    """Run ``make(async_body)`` on the loop while this thread reads ``body`` for it.

    ``timeout`` bounds each wait for the store (between two reads, or for the result).
    """
    requests: queue.SimpleQueue[_Read | None] = queue.SimpleQueue()
    reader = SyncBodyReader(runner.loop, requests, size)
    future = runner.submit(make(reader))
    future.add_done_callback(lambda _: requests.put(None))
    try:
        while True:
            try:
                item = requests.get(timeout=timeout)
            except queue.Empty:
                if future.done():
                    break
                raise TimeoutError(f"store call made no progress in {timeout} seconds") from None
            if item is None:
                break
            want, chunk_future = item
            try:
                chunk, error = body.read(want), None
            except BaseException as exc:  # handed to the store, which must let it through
                chunk, error = None, exc
            runner.loop.call_soon_threadsafe(_settle, chunk_future, chunk, error)
        return wait(future, timeout)
    except BaseException:
        future.cancel()
        raise


# --------------------------------------------------------------------------- response bodies


class _End:
    pass


_END = _End()


class _Failure:
    def __init__(self, error: BaseException) -> None:
        self.error = error


class ChunkBridge:
    """A sync iterator over an async iterable of chunks, buffering at most ``bound`` chunks.

    ``release`` (optional) runs on the loop once the producer is finished, whether it
    reached the end, failed or was cancelled by ``close()``.
    """

    def __init__(
        self,
        runner: LoopThread,
        chunks: AsyncIterable[bytes],
        *,
        bound: int = 2,
        timeout: float | None = None,
        release: Callable[[], Awaitable[None]] | None = None,
    ) -> None:
        if bound < 1:
            raise ValueError("bound must be at least 1")
        self._runner = runner
        self._chunks = chunks
        self._release = release
        self._timeout = timeout
        self._items: queue.SimpleQueue[bytes | _End | _Failure] = queue.SimpleQueue()
        self._slots = asyncio.Semaphore(bound)
        self._task: asyncio.Task[None] | None = None
        self._released = False
        self._finished = False
        self._closed = False
        runner.loop.call_soon_threadsafe(self._start)

    # ---- loop side

    def _start(self) -> None:
        if not self._closed:
            self._task = self._runner.loop.create_task(self._produce())

    async def _produce(self) -> None:
        iterator = aiter(self._chunks)
        try:
            while True:
                await self._slots.acquire()
                try:
                    chunk = await anext(iterator)
                except StopAsyncIteration:
                    self._items.put(_END)
                    return
                self._items.put(bytes(chunk))
        except asyncio.CancelledError:
            raise
        except BaseException as exc:
            self._items.put(_Failure(exc))
        finally:
            aclose = getattr(iterator, "aclose", None)
            if aclose is not None:
                with contextlib.suppress(Exception):
                    await aclose()
            await self._release_once()

    async def _release_once(self) -> None:
        if self._released:
            return
        self._released = True
        if self._release is not None:
            await self._release()

    async def _shutdown(self) -> None:
        task = self._task
        if task is not None and not task.done():
            task.cancel()
            await asyncio.wait([task])
        await self._release_once()

    def _free_slot(self) -> None:
        self._slots.release()

    # ---- consumer side

    def __iter__(self) -> ChunkBridge:
        return self

    def __next__(self) -> bytes:
        if self._finished:
            raise StopIteration
        try:
            item = self._items.get(timeout=self._timeout)
        except queue.Empty:
            self.close()
            raise TimeoutError(f"store body made no progress in {self._timeout} seconds") from None
        if isinstance(item, _End):
            self._finished = True
            raise StopIteration
        if isinstance(item, _Failure):
            self._finished = True
            raise item.error
        if self._runner.alive:
            self._runner.loop.call_soon_threadsafe(self._free_slot)
        return item

    def close(self) -> None:
        """Cancel the producer (if still running) and wait until the body is released."""
        if self._closed:
            return
        self._closed = True
        self._finished = True
        if not self._runner.alive:
            return
        future = self._runner.submit(self._shutdown())
        with contextlib.suppress(Exception):
            future.result(self._timeout if self._timeout is not None else STOP_TIMEOUT)

    def __del__(self) -> None:
        if not getattr(self, "_closed", True) and self._runner.alive:
            with contextlib.suppress(Exception):
                self._runner.loop.call_soon_threadsafe(self._cancel_soon)

    def _cancel_soon(self) -> None:
        self._closed = True
        self._runner.loop.create_task(self._shutdown())
