"""What every panel shares: it pulls from the engine on its own timer, only when seen.

A panel lists `PollingMixin` first among its bases, before its Textual widget class
(`Widget`, `DataTable`, ...), and implements `fetch_and_update()`: read the engine,
compare with what is drawn, and refresh only what changed. It is a mixin rather than a
`Widget` subclass because Textual takes a widget's CSS type names (`DataTable { ... }`)
from its first DOM base only; to the type checker it is a `Widget`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Generic, Protocol, TypedDict, TypeVar, Unpack

from textual.timer import Timer
from textual.widget import Widget

from traider.engine.view import EngineView

if TYPE_CHECKING:
    _Host = Widget
else:
    _Host = object


class WidgetArgs(TypedDict, total=False):
    """The keywords every panel passes through to its Textual widget class."""

    name: str | None
    id: str | None
    classes: str | None


class PollingMixin(_Host):
    """Polls `engine` `refresh_hz` times a second (never when 0), and once on mount."""

    def __init__(
        self, engine: EngineView, *, refresh_hz: float = 2.0, **widget: Unpack[WidgetArgs]
    ) -> None:
        super().__init__(**widget)
        self._engine = engine
        self._refresh_hz = refresh_hz
        self._timer: Timer | None = None

    def on_mount(self) -> None:
        if self._refresh_hz > 0:
            self._timer = self.set_interval(1 / self._refresh_hz, self.poll)
        self.call_after_refresh(self.poll, force=True)

    def poll(self, force: bool = False) -> None:
        """Pull the latest data; skip when hidden or under a modal, unless `force`."""
        if not self.is_mounted:
            return
        # The engine runs on the TUI's event loop, so a panel nobody can see (another
        # screen or a modal on top, or scrolled out of view) must not spend that loop's
        # time reading snapshots and rendering; it catches up on its next visible poll.
        if not force and (self.app.screen is not self.screen or not self.is_on_screen):
            return
        self.fetch_and_update()

    def fetch_and_update(self) -> None:
        """Read the engine and refresh whatever changed since the last call."""
        raise NotImplementedError


class _Versioned(Protocol):
    @property
    def version(self) -> int: ...


V = TypeVar("V", bound=_Versioned)


VIEW_REFRESH_HZ = 1.0  # the risk and models screens: slow numbers the engine versions


class VersionedViewMixin(PollingMixin, Generic[V]):
    """A panel over one engine view that carries a `version` (risk, models): keeps the
    view it draws, and redraws only when a poll brings a new version."""

    def __init__(
        self,
        engine: EngineView,
        *,
        refresh_hz: float = VIEW_REFRESH_HZ,
        **widget: Unpack[WidgetArgs],
    ) -> None:
        super().__init__(engine, refresh_hz=refresh_hz, **widget)
        self._view: V | None = None
        self.redraws = 0  # views that changed what is drawn (for tests and benches)

    @property
    def view(self) -> V | None:
        """The view drawn now; None before the first poll."""
        return self._view

    def fetch_view(self) -> V:
        """Read the engine's view (cheap: called at the panel's rate)."""
        raise NotImplementedError

    def fetch_and_update(self) -> None:
        view = self.fetch_view()
        if self._view is not None and view.version == self._view.version:
            return
        self._view = view
        self.redraws += 1
        self.refresh(layout=True)
