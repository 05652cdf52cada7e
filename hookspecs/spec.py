"""The hook specifications: the whole contract between the host and its plugins.

Rules that hold for every hook:

* Arguments are passed by keyword. An implementation may accept any subset of a hook's
  arguments, in any order. It may not give a parameter a default value: pluggy never
  passes such a parameter, so the host rejects the plugin at registration.
* "async allowed" means the implementation may be ``async def``; the host awaits it with
  the plugin's ``timeout_seconds`` (``[plugin.NAME]`` in plugins.toml, default 5 s). A
  plain ``def`` may also return an awaitable (awaited the same way) or answer at once: a
  plugin with nothing to do in a call need not make a coroutine for it. A hook marked
  "sync only" must return its answer directly; an ``async def`` implementation of it is
  rejected at registration.
* Each implementation is called on its own. A plugin that raises (or times out) is logged
  with its name and does not stop the others; the fail-safe value given below stands in
  for its answer. Whatever it raises: a ``SystemExit`` or another ``BaseException`` is
  its failure too; a ``KeyboardInterrupt`` it raises stops the run as Ctrl-C does (after
  the cycle, with its report). Five consecutive failures of one hook trip the plugin's
  breaker: it is switched off and listed as ``tripped`` (the run's ``summary.json``:
  ``tripped``, with when and why, and its notes), and its fail-safe answers stand for it
  while it is off (a tripped ``allow_order`` vetoes, a tripped ``is_defensive`` says
  True). In a replay it stays off for the rest of the run; a live run (``hostapp run
  --live``, ``hostapp serve``) tries it again after ``[host] breaker_retry_seconds``
  (default 300) of the wall clock, doubled after each retry that fails, up to an hour:
  the first failure of a retry switches it off again, a cycle its hooks answer has it
  back on.
  With ``on_error = "raise"`` in plugins.toml the host re-raises instead (for development
  and CI).
* Broadcast hooks run every plugin's implementation concurrently.
* ``tryfirst``/``trylast`` are refused at registration: the call order is ``[plugins]
  order`` in plugins.toml, the same for every hook.

The same rules, as data the host is driven by, are in :mod:`hookspecs.rules`.
"""

from __future__ import annotations

from collections.abc import Awaitable, Mapping, Sequence
from datetime import datetime
from typing import Any

from .host import HostView
from .markers import hookspec
from .types import (
    Action,
    ActionResult,
    Bar,
    CloseReason,
    DefensiveState,
    OrderRequest,
    Trade,
    Veto,
)


@hookspec(historic=True)
def configure(host: HostView) -> None:
    """Validate this plugin's settings and prepare it, before anything trades.

    Fires once at start-up, before ``startup``; it is historic, so a plugin registered
    later is configured as it registers. Sync only. Read your settings with
    ``host.config_for("your-name")`` and check them with :func:`hookspecs.parse_settings`.
    A key of your table you never ask for here (a typo, when you read keys by name) is
    named in one WARNING after every plugin configured.

    Results: none. A raising plugin is a configuration error: the host refuses to start
    and prints the error (which should name the file and key) with exit code 2. Raise
    :class:`~hookspecs.ConfigError` for a bad setting: its text is the line. Anything
    else is taken for a bug: the line names the plugin and the exception, and its
    traceback goes to the report's ``hostapp.log`` where the command writes one
    (``hostapp run``, ``replay``: the line then ends "(traceback in hostapp.log)").

    ``hostapp plugins`` calls it too, to check every plugin's settings, on a throwaway
    paper host (``host.data_dir`` a temporary folder), and nothing after it: neither
    ``startup`` nor ``shutdown``. So open here only what may close with the process (a
    store, a file), and start threads, tasks and connections that announce themselves in
    ``startup``.
    """


@hookspec
def startup(host: HostView) -> Awaitable[None] | None:
    """Open connections, recover state, start background work.

    Fires once, after ``configure`` and before the first cycle. Async allowed; plugins
    start concurrently.

    Results: none. A raising plugin is logged and counts as a failure for its breaker;
    the host starts all the same and calls the plugin's other hooks as usual, its
    ``shutdown`` included, so each of them must cope with a start that did not happen.
    A refusal is different: ``ConfigError``, or a failure of the plugin's files or store
    (``OSError`` and its subclasses, a ``StoreError``, SQLite's
    ``OperationalError``/``DatabaseError``) stops the host with one line naming its table
    and exit code 2, since a plugin that cannot reach its state must not run half-started
    (docs/architecture.md §4, "A start-up that is refused").
    """


@hookspec
def shutdown(host: HostView) -> Awaitable[None] | None:
    """Flush state and close what ``startup`` opened.

    Fires once when the host stops, normally or on SIGINT, for every plugin that was
    enabled, even one whose ``startup`` failed. Async allowed.

    Results: none. A raising plugin is logged; shutdown still runs for the others.
    """


@hookspec
def propose_orders(
    host: HostView, symbol: str, bars: Sequence[Bar], now: datetime
) -> list[OrderRequest] | Awaitable[list[OrderRequest] | None] | None:
    """Suggest market orders for ``symbol`` after a new bar closed.

    Fires in each cycle in which a bar of the host's timeframe closed, once per symbol
    with a new bar, with the recent closed bars of that timeframe (oldest first; the
    newest is ``bars[-1]``) and the host's current time. Sync or async. ``bars`` holds
    at most the newest 200 bars (fewer at the start of the history): a strategy that
    needs a longer one asks ``host.market.bars(symbol, host.timeframe, count)``.
    Never in the "same entries" run of an A/B (``hostapp replay --compare``): that run
    opens exactly the entries the run without the compared plugin took, replayed from
    it, so no plugin proposes any (``allow_order`` is still asked, and what it would have
    vetoed is counted, not applied).
    ``bars`` is a tuple, the same one for every plugin of the call: make your own list
    (``list(bars)``) to add or drop bars, so no plugin changes what the next one sees.

    Results: the lists of all plugins are flattened, in plugin order; each order then goes
    through ``allow_order``. Return ``None`` or ``[]`` for no orders. The host sets each
    order's ``source`` to the name of the plugin that proposed it: ``allow_order``, the
    run's reports and an A/B's same-entries run go by it, so a plugin cannot propose in
    another's name (a different name given is replaced, said in one WARNING per plugin).
    An order's ``comment`` that starts with a reserved prefix
    (:data:`~hookspecs.types.RESERVED_COMMENTS`: ``DTMS_HEDGE_``, ``DTMS_READD_``) is
    cleared the same way, said in one WARNING per plugin naming the comment.
    A raising plugin's orders for this call are dropped and the error is logged. Five
    failures of a hook in a row switch the whole plugin off, every hook of it (its
    breaker: docs/plugins.md, rule 4).
    """


@hookspec(firstresult=True)
def allow_order(host: HostView, order: OrderRequest) -> str | Veto | None:
    """Veto a proposed order before it reaches the broker.

    Asked of every new entry a plugin proposes through ``propose_orders``, and of the
    order a ``re_add`` action opens when a plugin executes one through ``host.execute``
    (new exposure too: a risk limit holds for it; a veto comes back to that plugin as
    the action's ``vetoed`` result, and the broker is not called). Not for exits,
    partial closes or hedges: the host refuses a partial close at or above the
    position's open volume and a hedge above it (:class:`~hookspecs.ActionKind`), so
    what these send only reduces or offsets exposure. Only this host's plugins
    are asked: a DTMS server (``dtms serve``) acting on a shared account runs its own
    host, where a trading host's risk plugins are not loaded. Sync only.

    Results: ``None`` allows; a non-empty string vetoes, and is the reason reported (an
    empty or blank one is a wrong answer, a failure of the plugin: it vetoes as one); a
    :class:`~hookspecs.Veto` vetoes with its reason and a ``kind``, the text the run's
    summary counts it under (give one when the reason names a time or a figure, or every
    veto is a kind of its own). One veto is enough: the plugins are asked one after the
    other, in plugin order (``[plugins] order``, then by name), and the first veto ends
    the asking, so the plugins after it do not see that order (a guard that counts
    orders counts them elsewhere, or is listed first). A guard switched off by its
    breaker vetoes before any plugin is asked, while it is off (a live run tries it again
    after a cool-down). A raising plugin vetoes (fails closed): a risk guard that crashes
    must not let orders through.

    The host logs a veto once per episode: the first order vetoed for a reason, then,
    when an order goes through or the run ends, how many more were vetoed for it. A
    guard's vetoes for failing are one episode whatever its exception says, the one of
    its failures: said at its first, counted until the guard has answered 100 calls in
    a row (or the run ends).
    """


@hookspec
def on_trade_executed(host: HostView, trade: Trade) -> Awaitable[None] | None:
    """A new position was opened at the broker.

    Fires once per position the host opened from ``propose_orders``, right after the
    broker confirmed it, with the position as the broker reports it (ticket, fill price,
    stops); its ``ticket`` names the position for as long as it lives, the same in every
    later hook and broker call (:class:`~hookspecs.Trade`). A position a plugin opens
    itself through ``host.execute`` (a hedge, a
    re-add) is not announced here: ``on_action`` tells every plugin of that action and
    its ``new_ticket``; its close is reported by ``on_trade_closed`` like any other.
    Async allowed; broadcast.

    Results: none. A raising plugin is logged; the others still run. Five failures of a
    hook in a row switch the whole plugin off, every hook of it (its breaker:
    docs/plugins.md, rule 4).
    """


@hookspec
def on_cycle(host: HostView, now: datetime) -> Awaitable[None] | None:
    """Periodic work: one call per trading-loop cycle (per closed bar in a replay).

    Fires after new orders were placed and before ``manage_positions``. Async allowed;
    broadcast. DTMS evaluates its trades here.

    Results: none. A raising plugin is logged; the others still run. Five failures of a
    hook in a row switch the whole plugin off, every hook of it (its breaker:
    docs/plugins.md, rule 4).
    """


@hookspec
def manage_positions(host: HostView, now: datetime) -> Awaitable[None] | None:
    """Manage open positions: move stops, take partial profits, close.

    Fires once per cycle in which positions are open, after every ``on_cycle``
    implementation has finished (so what the defenders decided this cycle is already
    known), with the host's current time.
    Async allowed; the implementations run one after the other, in plugin order, so two
    managers never touch a position at the same moment. The exit manager (``exits``)
    works here. Before touching a position, ask ``host.is_defensive(ticket)`` and leave a
    defended trade to its defender; act only through ``host.execute`` so every other
    plugin hears of it (``on_action``) and a position closed here is reported with reason
    ``exit``. The host sets the ``source`` of an action executed during a hook to that
    plugin's name (``host.execute``), so the run's ``actions_by_source`` counts it as yours.

    Results: none. A raising plugin is logged; the others still run. Five failures of a
    hook in a row switch the whole plugin off, every hook of it (its breaker:
    docs/plugins.md, rule 4).
    """


@hookspec
def is_defensive(host: HostView, ticket: int) -> bool | None:
    """Is this trade under defensive management right now?

    Asked on the hot path, through ``host.is_defensive(ticket)``: by the exit manager
    (``manage_positions``) before it moves a stop or takes a partial, and by any plugin
    about to touch a position. Sync only; answer from memory or a
    local cache and never wait on the network.

    Results: True if any plugin says True. ``None`` is no opinion (a plugin that
    defends some trades answers it for the others) and counts as False; any other answer
    that is not a bool (``0``, ``"False"``) is the plugin's bug, a failure of the call.
    A raising plugin counts as True (fail safe):
    when in doubt, leave the trade to its defender. A plugin whose breaker tripped counts
    as True for every ticket while it is switched off: for the rest of a replay; in a
    live run until a retry after its cool-down answers.
    """


@hookspec
def on_trade_closed(host: HostView, trade: Trade, reason: CloseReason) -> Awaitable[None] | None:
    """A position was closed, fully, by any cause.

    ``trade`` carries ``close_price``, ``closed_at`` and the realised ``profit`` of the
    whole position (every closing deal, a partial close's included; a hedge is a position
    of its own);
    ``reason`` is one of ``stop_loss``, ``take_profit``, ``action`` (a plugin's action
    during ``on_cycle``, or one taken in ``on_trade_closed`` on hearing of another close,
    such as DTMS closing its hedge when the hedged trade's stop is hit), ``exit`` (an
    action during ``manage_positions``, such as the exit manager's), ``netted`` (on a
    netting account, a strategy's order the other way closed or reversed the symbol's one
    position), ``external`` (closed outside the host). Async allowed; broadcast.

    Results: none. A raising plugin is logged; the others still run. Five failures of a
    hook in a row switch the whole plugin off, every hook of it (its breaker:
    docs/plugins.md, rule 4).
    """


@hookspec
def on_state_change(
    host: HostView,
    ticket: int,
    old: DefensiveState,
    new: DefensiveState,
    reason: str,
    details: Mapping[str, Any],
) -> Awaitable[None] | None:
    """A defended trade moved along the DTMS ladder (``old`` → ``new``, with why).

    ``reason`` is one sentence for people; ``details`` is the same as data: the score
    breakdown when a score decided it (``total``, ``subscores``, ``weights``, …), empty
    otherwise. Read numbers from ``details``, never out of ``reason``. Every listener
    gets a copy of ``details`` of its own, read-only all the way down (a
    :class:`~hookspecs.frozen.FrozenDict`: a dict that refuses changes; ``dict(details)``
    is one to change).

    Fires after the new state was persisted. Async allowed; broadcast. Notifiers and
    dashboards listen here. A host whose trades a DTMS server (``dtms serve``) defends
    hears the server's changes of its trades the same way, with the server's reason and
    details, at the refresh after the change (DTMS's remote strategy reads them from the
    server's history; a server of an earlier version says only ``DTMS server``, with no
    details, and a change back and forth between two refreshes is not seen there).

    Results: none. A raising plugin is logged; the others still run. Five failures of a
    hook in a row switch the whole plugin off, every hook of it (its breaker:
    docs/plugins.md, rule 4).
    """


@hookspec
def on_action(host: HostView, action: Action, result: ActionResult) -> Awaitable[None] | None:
    """A defensive action was carried out (or refused) at the broker.

    Fires once per attempt, after the broker answered, with its result. Async allowed;
    broadcast. It also fires for an action carried out elsewhere on this account for one
    of this host's trades, by a DTMS server (``dtms serve``) that defends them: DTMS's
    remote strategy reports it with ``host.report_action`` at the refresh after the
    server settled it, with the server's ``Action`` and ``ActionResult`` (an attempt whose
    outcome the server did not know is heard once that is settled, with the settled
    result). Such an action is not this host's: it is not in the run's action rows.
    Every listener gets a copy of the action of its own, equal to the one its planner
    sent (compare with ``==`` or by ``key``, not ``is``), whose ``params`` are read-only
    (:class:`~hookspecs.Action`): what one listener does to its copy, neither the next
    one nor the planner, which journals those params, sees.

    Results: none. A raising plugin is logged; the others still run. Five failures of a
    hook in a row switch the whole plugin off, every hook of it (its breaker:
    docs/plugins.md, rule 4).
    """


@hookspec
def run_report(host: HostView) -> Mapping[str, Any] | None:
    """What this plugin did during the run, for the run's summary.

    Fires once when a run or replay ends, after the last cycle and before ``shutdown``.
    Sync only. Return plain JSON data (numbers, strings, lists, dicts); the host puts it
    under ``plugin_reports.<name>`` of ``summary.json``. These keys have a meaning for the
    host: ``activity`` (an int: how many times the plugin did its job, e.g. trades evaluated;
    0 means it did nothing, which ``hostapp replay --compare NAME`` treats as a failed
    comparison unless the host saw the plugin act or veto an entry itself, or the runs
    with it traded otherwise than the one without), ``note`` (one sentence the summary
    table prints, e.g. why nothing was done), ``warning`` (one sentence printed before
    the table, for figures a reader should doubt: a signal missing from most of the
    plugin's decisions, say), ``held_defensive`` (per ticket, how often a position
    manager left a trade alone because ``is_defensive`` said so; summed over plugins as
    the summary's ``exits_held_defensive``), ``held_not_own_state`` (of those, per ticket,
    the holds while the trade's own state, as ``on_state_change`` last said it, was not
    defensive: an answer for the whole account; summed as ``exits_held_not_own_state``,
    and an A/B's notes say both) and ``settings`` (the values the run used,
    defaults included, by dotted key as :func:`hookspecs.settings_in_force` gives them; a sweep's
    "as configured" row shows them for the keys the config file leaves out, where it
    would otherwise say ``default``). Return ``None`` to say nothing.

    Results: one mapping per plugin, by name. A raising plugin is logged and its report
    is ``{"error": ...}``.
    """


@hookspec
def web_routes(host: HostView) -> Sequence[Any] | None:
    """The HTTP routes this plugin serves on the host's web app.

    Fires once per web app, after ``startup`` (so a plugin can serve what it started),
    when the host serves a web app (``hostapp serve``, ``hostapp run --live --serve``).
    ``hostapp serve`` loads only the enabled plugins that implement this hook (a serving
    host runs no strategy and no exit manager); ``run --live --serve`` serves the routes
    of those among the run's plugins. Sync only. Return aiohttp route definitions
    (``aiohttp.web.AbstractRouteDef``: ``web.get(...)``, ``web.post(...)`` or the
    entries of a ``web.RouteTableDef``; typed ``Any`` here so that the contract does not
    import aiohttp); the host mounts them all on one aiohttp app bound to 127.0.0.1
    (``hostapp serve --host`` may name another address). A plugin that needs an
    application of its own (middlewares, typed state, resources opened and closed with the
    app) may instead return a one-element list holding that ``web.Application``: the host
    mounts it at the root, where it answers the paths it routes. The app reads request
    lines of up to ``MAX_REQUEST_LINE_BYTES`` (128 KiB); a longer one is a 400 from the
    host, which a plugin's document of its routes may state with that number.

    The app is shared, and the host's own middlewares run around every route, in this
    order: bound to the loopback, a request whose ``Host`` names another machine is a 403
    (``{"error": "host not allowed", ...}``; the names are
    :func:`hookspecs.answered_names`: a page whose domain was rebound to 127.0.0.1 must
    not read what is served here; a request routed into a plugin's own application is
    left to that app's middlewares, which know its rule: ``dtms serve`` answers any name
    once it has a token); a handler that raises (anything but the
    ``web.HTTPException`` it chose to answer) or returns no response is a JSON 500 that
    tells the client nothing of the server (``{"error": "internal error", ...}``), said
    in one ERROR line naming the plugin and the route, once per episode with a count,
    and counted in the run's summary but never by the breaker; and a path nobody routes,
    or a method a path does not take, is a JSON 404 or 405. Everything else a plugin
    guards inside its handlers or its own app: authentication, its error bodies, the
    ``Origin`` of its writes.

    Results: every plugin's routes, in plugin order. A raising plugin, one that returns
    something other than route definitions, or one whose routes clash with routes
    already mounted (same method and path) serves none of its routes; this is logged,
    counts as a failure of the hook, is said in the run's summary, and the others are
    served.
    """
