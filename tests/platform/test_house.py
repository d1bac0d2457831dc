"""The house rules, read from the code (docs: /work/shared/DESIGN.md "Layout"):

- no import circle among the project's modules (imports inside functions count, imports under
  `if TYPE_CHECKING:` do not: they never run);
- no import circle between service/'s areas (its packages): an area importing another that
  imports it back, through any of their modules, is one room's rules leaking into another's;
- the Slack channel (service/slack) is one more caller of the areas: only the composition
  (service/app.py, service/wiring) imports it;
- one builder of the service graph (service/wiring), for the web app and the simulation;
- pages and API handlers hold no queries: they call the areas' use cases (no SQLAlchemy, no
  database session of their own);
- bots/, rules/ and optimizer/ import nothing from service/;
- nothing outside service/clock.py reads the wall clock (datetime.now/utcnow/today,
  date.today, time.time);
- every `web.AppKey` is created in service/keys.py;
- no project import inside a function in service/, bots/, rules/, optimizer/.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("service", "bots", "rules", "optimizer")
PURE = ("bots", "rules", "optimizer")  # may not import service
CLOCK_MODULE = "service.clock"
KEYS_MODULE = "service.keys"


@dataclass(frozen=True)
class Import:
    target: str  # the project module imported (the deepest that exists)
    line: int
    in_function: bool
    type_checking: bool


@dataclass
class Module:
    name: str
    path: Path
    tree: ast.Module
    imports: list[Import] = field(default_factory=list)

    @property
    def is_package(self) -> bool:
        return self.path.name == "__init__.py"

    def where(self, line: int) -> str:
        return f"{self.path.relative_to(ROOT)}:{line}"


def _module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING")


def _walk(node: ast.AST, in_function: bool = False, type_checking: bool = False
          ) -> Iterator[tuple[ast.AST, bool, bool]]:
    """Every node with whether it sits in a function and under `if TYPE_CHECKING:`."""
    guarded = isinstance(node, ast.If) and _is_type_checking(node.test)
    for child in ast.iter_child_nodes(node):
        child_type_checking = type_checking or (guarded and child in node.body)
        yield child, in_function, child_type_checking
        below_function = in_function or isinstance(
            child, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda)
        yield from _walk(child, below_function, child_type_checking)


@cache
def project() -> dict[str, Module]:
    modules: dict[str, Module] = {}
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            name = _module_name(path)
            modules[name] = Module(name, path, ast.parse(path.read_text(encoding="utf-8"),
                                                         str(path)))
    for module in modules.values():
        for node, in_function, type_checking in _walk(module.tree):
            for target in _imported(module, node, modules):
                module.imports.append(Import(target, node.lineno, in_function, type_checking))
    return modules


def _imported(module: Module, node: ast.AST, modules: dict[str, Module]) -> list[str]:
    """The project modules an import statement loads."""
    if isinstance(node, ast.Import):
        candidates = [alias.name for alias in node.names]
    elif isinstance(node, ast.ImportFrom):
        base = node.module or ""
        if node.level:
            package = module.name.split(".")
            if not module.is_package:
                package = package[:-1]
            package = package[:len(package) - (node.level - 1)]
            base = ".".join(package + ([base] if base else []))
        # `from a import b` loads module a.b when b is a module, else it reads a name of a.
        candidates = [f"{base}.{alias.name}" for alias in node.names] + [base]
    else:
        return []
    found: list[str] = []
    for name in candidates:
        while name and name not in modules:
            name = name.rpartition(".")[0]
        if name and name != module.name and name not in found:
            found.append(name)
    if isinstance(node, ast.ImportFrom) and len(found) > 1:
        # `from a import b, c`: a is loaded too, but only count it when nothing deeper was.
        base_target = found[-1]
        if any(f != base_target and f.startswith(base_target + ".") for f in found):
            found.remove(base_target)
    return found


def _graph() -> dict[str, set[str]]:
    """Imports that run (not under TYPE_CHECKING), inside functions or not."""
    return {name: {i.target for i in module.imports if not i.type_checking}
            for name, module in project().items()}


def _circles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components of more than one module (Tarjan, iteratively)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    on_stack: set[str] = set()
    stack: list[str] = []
    circles: list[list[str]] = []
    counter = 0
    for root in sorted(graph):
        if root in index:
            continue
        work = [(root, iter(sorted(graph[root])))]
        index[root] = low[root] = counter
        counter += 1
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = counter
                    counter += 1
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(graph.get(child, ())))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                parent = work[-1][0]
                low[parent] = min(low[parent], low[node])
            if low[node] == index[node]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                if len(component) > 1:
                    circles.append(sorted(component))
    return circles


def _area(module: str) -> str | None:
    """The area a module of service/ belongs to: the package directly under service/ (None
    for service/'s loose modules, the composition root among them, and outside service/)."""
    parts = module.split(".")
    if parts[0] != "service" or len(parts) < 2 or not (ROOT / "service" / parts[1]).is_dir():
        return None
    return parts[1]


def _area_graph(graph: dict[str, set[str]]) -> dict[str, set[str]]:
    """Which areas import which: an area imports another when any of its modules does."""
    areas: dict[str, set[str]] = {}
    for module, targets in graph.items():
        area = _area(module)
        if area is not None:
            areas.setdefault(area, set()).update(
                other for target in targets
                if (other := _area(target)) is not None and other != area)
    return areas


def _imports_between(graph: dict[str, set[str]], areas: list[str]) -> list[str]:
    """The module imports that tie these areas together (for the failure message)."""
    return sorted(f"{module} -> {target}" for module, targets in graph.items()
                  for target in targets
                  if _area(module) in areas and _area(target) in areas
                  and _area(module) != _area(target))


# -- the checker checks ------------------------------------------------------------------------

def test_the_checker_finds_circles_and_reads_imports() -> None:
    assert _circles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert _circles({"a": {"b"}, "b": set()}) == []
    modules = project()
    assert {"service.app", "service.keys", "bots.delivery", "rules.engine",
            "optimizer"} <= set(modules)
    app = {i.target for i in modules["service.app"].imports}
    assert {"service.keys", "service.platform.http", "bots.email.channel"} <= app
    keys = modules[KEYS_MODULE].imports
    assert keys and all(i.type_checking for i in keys if i.target.startswith("service."))
    source = ("from typing import TYPE_CHECKING\n"
              "from . import clock\n"
              "if TYPE_CHECKING:\n    from service.keys import DB\n"
              "else:\n    import service.config\n"
              "def later():\n    from .platform import http\n    return http\n")
    fake = Module("service.fake", ROOT / "service" / "fake.py", ast.parse(source))
    seen = {(target, in_function, type_checking)
            for node, in_function, type_checking in _walk(fake.tree)
            for target in _imported(fake, node, modules)}
    assert seen == {("service.clock", False, False), ("service.keys", False, True),
                    ("service.config", False, False), ("service.platform.http", True, False)}


def test_the_checker_finds_circles_between_areas() -> None:
    """Areas are service/'s packages; a circle through any of their modules counts, the
    composition root (a loose module) is no area, and a package's own modules are one area."""
    graph = {"service.meetings.notifications": {"service.slack.notices"},
             "service.slack.desk": {"service.followup.closing", "service.slack.home"},
             "service.followup.closing": {"service.meetings.booking"},
             "service.app": {"service.slack.desk", "service.meetings.notifications"},
             "service.intake.service": {"service.platform.auth"}}
    areas = _area_graph(graph)
    assert "app" not in areas and areas["slack"] == {"followup"}
    assert _circles(areas) == [["followup", "meetings", "slack"]]
    assert _imports_between(graph, ["followup", "meetings", "slack"]) == [
        "service.followup.closing -> service.meetings.booking",
        "service.meetings.notifications -> service.slack.notices",
        "service.slack.desk -> service.followup.closing"]
    graph["service.followup.closing"] = set()
    assert _circles(_area_graph(graph)) == []
    # An import inside a function is in the graph; one under TYPE_CHECKING is not.
    source = ("from typing import TYPE_CHECKING\n"
              "if TYPE_CHECKING:\n    from service.slack.home import SlackHome\n"
              "def later():\n    from service.slack import notices\n    return notices\n")
    fake = Module("service.jobs.fake", ROOT / "service" / "jobs" / "fake.py", ast.parse(source))
    running = {target for node, _, type_checking in _walk(fake.tree) if not type_checking
               for target in _imported(fake, node, project())}
    assert running == {"service.slack.notices"}


# -- the rules ---------------------------------------------------------------------------------

def test_no_import_circle_among_project_modules() -> None:
    circles = _circles(_graph())
    assert not circles, "\n".join(f"import circle of {len(c)} modules: {', '.join(c)}"
                                   for c in circles)


def test_no_import_circle_between_areas() -> None:
    graph = _graph()
    circles = _circles(_area_graph(graph))
    assert not circles, "\n".join(
        f"areas of service/ import each other in a circle: {', '.join(c)}\n  "
        + "\n  ".join(_imports_between(graph, c)) for c in circles)


# The composition: it builds the areas' services and gives them the channels.
COMPOSITION = ("service.app", "service.wiring")


def _in_composition(module: str) -> bool:
    return any(module == c or module.startswith(c + ".") for c in COMPOSITION)


def test_only_the_composition_imports_the_slack_channel() -> None:
    """Slack is one more caller, like the API handlers: the areas name what they need of it
    as interfaces of their own (a Protocol) and the composition wires the channel in."""
    wrong = [f"{module.where(i.line)} imports {i.target}" for module in project().values()
             if _area(module.name) != "slack" and not _in_composition(module.name)
             for i in module.imports
             if not i.type_checking and _area(i.target) == "slack"]
    assert not wrong, "\n".join(wrong)


# The use cases and their collaborators the composition wires together (a sample of them).
WIRED = {"IntakeService", "MeetingNotifier", "MeetingsFollowOwner", "Planner", "OutboxDeliverer",
         "Reminders", "ConsultantReminders", "MeetingAnswers", "CaseClosing", "CaseOutcomes",
         "SlackNotices", "SlackHome", "ServiceDesk", "KpiService"}


def test_one_builder_of_the_service_graph() -> None:
    """The web app and the simulation get their services from one builder (service/wiring):
    a second composition drifts (the simulation's owner changes once told Slack nothing)."""
    elsewhere = [f"{module.where(node.lineno)} builds {node.func.id}"
                 for module in project().values()
                 if module.name.startswith("service.") and not _in_composition(module.name)
                 for node in ast.walk(module.tree)
                 if isinstance(node, ast.Call) and isinstance(node.func, ast.Name)
                 and node.func.id in WIRED]
    assert not elsewhere, "\n".join(elsewhere)


def _is_handler(module: Module) -> bool:
    """The modules that answer HTTP for people and clients: pages and API handlers."""
    leaf = module.name.rsplit(".", 1)[-1]
    return module.name.startswith("service.") and not module.is_package and (
        leaf in ("pages", "api", "cases_api") or leaf.endswith("_page"))


def test_pages_and_api_handlers_hold_no_queries() -> None:
    """A handler shapes what a use case returns; the reads and their rules live in the area
    (the employer's page once held five queries and the 24-hour rule again)."""
    handlers = [m for m in project().values() if _is_handler(m)]
    assert {"service.meetings.pages", "service.intake.api", "service.demo.slack_page"} <= {
        m.name for m in handlers}
    wrong = []
    for module in handlers:
        for node in ast.walk(module.tree):
            if isinstance(node, ast.ImportFrom | ast.Import):
                names = [node.module or ""] if isinstance(node, ast.ImportFrom) else \
                    [a.name for a in node.names]
                wrong += [f"{module.where(node.lineno)} imports {n}" for n in names
                          if n.split(".")[0] == "sqlalchemy"]
            elif isinstance(node, ast.Name) and node.id == "DB":
                wrong.append(f"{module.where(node.lineno)} uses the database (DB)")
    assert not wrong, "\n".join(wrong)


def test_bots_rules_and_optimizer_import_nothing_from_service() -> None:
    wrong = [f"{module.where(i.line)} imports {i.target}"
             for module in project().values() if module.name.split(".")[0] in PURE
             for i in module.imports if i.target.split(".")[0] == "service"]
    assert not wrong, "\n".join(wrong)


WALL_CLOCK = {("datetime", "now"), ("datetime", "utcnow"), ("datetime", "today"),
              ("date", "today"), ("time", "time"), ("time", "time_ns")}


def _wall_clock_reads(module: Module) -> list[str]:
    """Calls of the wall clock, however datetime, date and time were imported."""
    # What each local name stands for: the module `datetime`/`time`, the classes, a function.
    names: dict[str, str] = {}
    for node in ast.walk(module.tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name in ("datetime", "time"):
                    names[alias.asname or alias.name] = f"module:{alias.name}"
        elif isinstance(node, ast.ImportFrom) and node.module in ("datetime", "time"):
            for alias in node.names:
                names[alias.asname or alias.name] = f"{node.module}.{alias.name}"
    found = []
    for node in ast.walk(module.tree):
        if not isinstance(node, ast.Call):
            continue
        func = node.func
        if isinstance(func, ast.Name) and names.get(func.id) in ("time.time", "time.time_ns"):
            found.append(module.where(node.lineno))
        elif isinstance(func, ast.Attribute):
            owner = func.value
            if isinstance(owner, ast.Name):
                kind = names.get(owner.id, "")
                cls = {"datetime.datetime": "datetime", "datetime.date": "date",
                       "module:time": "time"}.get(kind)
            elif isinstance(owner, ast.Attribute) and isinstance(owner.value, ast.Name) \
                    and names.get(owner.value.id) == "module:datetime":
                cls = owner.attr  # datetime.datetime.now(), datetime.date.today()
            else:
                cls = None
            if cls is not None and (cls, func.attr) in WALL_CLOCK:
                found.append(module.where(node.lineno))
    return found


def test_the_clock_check_sees_every_spelling() -> None:
    source = ("import datetime as dt\nimport time\nfrom datetime import date, datetime\n"
              "from time import time as wall\n"
              "a = datetime.now()\nb = date.today()\nc = dt.datetime.utcnow()\nd = time.time()\n"
              "e = wall()\nf = time.monotonic()\ng = datetime.fromisoformat('2026-01-01')\n")
    module = Module("x", ROOT / "x.py", ast.parse(source))
    assert [w.rsplit(":", 1)[1] for w in _wall_clock_reads(module)] == ["5", "6", "7", "8", "9"]


def test_nothing_outside_the_clock_module_reads_the_wall_clock() -> None:
    reads = [where for module in project().values() if module.name != CLOCK_MODULE
             for where in _wall_clock_reads(module)]
    assert not reads, "wall clock read at:\n" + "\n".join(reads)


def test_every_app_key_is_created_in_service_keys() -> None:
    elsewhere = []
    for module in project().values():
        for node in ast.walk(module.tree):
            if isinstance(node, ast.Call) and (
                    (isinstance(node.func, ast.Attribute) and node.func.attr == "AppKey")
                    or (isinstance(node.func, ast.Name) and node.func.id == "AppKey")):
                if module.name != KEYS_MODULE:
                    elsewhere.append(module.where(node.lineno))
    assert not elsewhere, "web.AppKey( created outside service/keys.py:\n" + "\n".join(elsewhere)
    keys = [n for n in ast.walk(project()[KEYS_MODULE].tree) if isinstance(n, ast.Call)
            and isinstance(n.func, ast.Attribute) and n.func.attr == "AppKey"]
    assert len(keys) >= 10


def test_no_project_import_inside_a_function() -> None:
    inner = [f"{module.where(i.line)} imports {i.target}" for module in project().values()
             for i in module.imports if i.in_function]
    assert not inner, "project imports inside functions:\n" + "\n".join(inner)
