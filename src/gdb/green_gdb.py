# gdb support for green: installed as libgreen.so.<version>-gdb.py, gdb loads it with
# libgreen (auto-load) and adds two commands:
#
#   green-info              every greenlet on every hub: id, name, state, what it waits on
#   green-bt ID|NAME|all    the backtrace of a greenlet, suspended or running
#
# It reads green's own structures through libgreen's debug information: the process's
# hubs (green::detail::first_hub, linked by Hub::next_hub_), each hub's main greenlet and
# its list of live greenlets (Hub::live_head_, GreenletBase::live_next_). A suspended
# greenlet's registers were saved by Boost.Context's jump_fcontext on its own stack, at
# RawGreenlet::context_; green-bt loads them into the hub's thread, prints `bt` and puts
# the thread's real registers back. Live processes only: a core file's registers cannot
# be written.
import gdb

# jump_fcontext (jump_x86_64_sysv_elf_gas.S, Boost 1.74) reserves 0x38 bytes below the
# return address and saves, from the context pointer upwards:
#   0x00 MXCSR, x87 control word | 0x08 r12 | 0x10 r13 | 0x18 r14 | 0x20 r15
#   0x28 rbx | 0x30 rbp | 0x38 return address (rip); the stack pointer after the
#   return is context + 0x40.
_SAVED = (("r12", 0x08), ("r13", 0x10), ("r14", 0x18), ("r15", 0x20), ("rbx", 0x28), ("rbp", 0x30))
_RIP_OFFSET = 0x38
_RSP_OFFSET = 0x40


def _find_field(struct_type, name, offset=0):
    for field in struct_type.fields():
        if field.is_base_class:
            found = _find_field(field.type, name, offset + field.bitpos // 8)
            if found:
                return found
        elif field.name == name:
            return offset + field.bitpos // 8, field.type
    return None


class _View:
    """An object's fields, each read on its own. A gdb.Value of a whole greenlet would make
    gdb look up its dynamic type (a lambda-specific GreenletImpl) and warn for each one."""

    def __init__(self, address, type_name):
        self.address = int(address)
        self.type = gdb.lookup_type(type_name)

    def __getitem__(self, name):
        found = _find_field(self.type, name)
        if found is None:
            raise gdb.GdbError("green: %s has no field %s (a different libgreen version?)" % (self.type, name))
        offset, field_type = found
        return gdb.Value(self.address + offset).cast(field_type.pointer()).dereference()

    def pointer(self, name):
        """A pointer field as an integer (never typed: see above)."""
        offset, _ = _find_field(self.type, name)
        return int(gdb.Value(self.address + offset).cast(gdb.lookup_type("unsigned long").pointer()).dereference())


def _hubs():
    hub = int(gdb.parse_and_eval("green::detail::first_hub"))
    while hub != 0:
        view = _View(hub, "green::Hub")
        yield view
        hub = view.pointer("next_hub_")


def _counter(value):
    return int(value["value_"]["_M_i"])


def _enum_name(value):
    return str(value).split("::")[-1]


def _string(std_string):
    length = int(std_string["_M_string_length"])
    if length == 0:
        return ""
    return std_string["_M_dataplus"]["_M_p"].string(length=length)


class Greenlet:
    """One greenlet as read from memory."""

    def __init__(self, hub, value, is_main):
        self.hub = hub
        self.value = value
        self.is_main = is_main
        self.id = int(value["id_"])
        self.name = _string(value["name_"]) or "Greenlet-%d" % self.id
        self.sched = _enum_name(value["sched_"])

    def is_running(self):
        # The hub's turn counter is odd while it has switched into a greenlet (that one is
        # marked running); even while the hub runs its loop. Before the hub first ran, the
        # main greenlet runs.
        if _counter(self.hub["turn_"]) % 2 == 1:
            return self.sched == "running"
        hub_started = _enum_name(self.hub["state_"]) != "not_started"
        return self.is_main and not hub_started

    def state(self):
        if self.is_running():
            return "running"
        if self.sched == "queued":
            started = _enum_name(self.value["state_"]) != "not_started"
            return "ready" if started else "ready, not started"
        if self.sched == "waiting":
            what = self.value["waiting_on_"]
            text = "waiting on " + (what.string() if int(what) != 0 else "?")
            fd = int(self.value["waiting_fd_"])
            if fd >= 0:
                direction = self.value["waiting_direction_"]
                text += " (fd %d%s)" % (fd, ", " + direction.string() if int(direction) != 0 else "")
            return text
        if self.sched == "idle":
            return "not started (spawn_later)" if self.value.pointer("start_timer_") != 0 else "suspended"
        return self.sched

    def context(self):
        return self.value.pointer("context_")


def _greenlets():
    for hub in _hubs():
        yield Greenlet(hub, _View(hub.pointer("main_"), "green::GreenletBase"), True)
        g = hub.pointer("live_head_")
        found = []
        while g != 0:
            view = _View(g, "green::GreenletBase")
            found.append(Greenlet(hub, view, False))
            g = view.pointer("live_next_")
        for greenlet in reversed(found):  # the live list is newest first
            yield greenlet


def _thread_of(hub):
    tid = int(hub["tid_"])
    for thread in gdb.selected_inferior().threads():
        if thread.ptid[1] == tid:
            return thread
    raise gdb.GdbError("green: no gdb thread has lwp %d (the hub's thread)" % tid)


class GreenInfo(gdb.Command):
    """List every greenlet on every hub: green-info"""

    def __init__(self):
        super().__init__("green-info", gdb.COMMAND_STACK)

    def invoke(self, argument, from_tty):
        by_hub = {}
        order = []
        for g in _greenlets():
            key = g.hub.address
            if key not in by_hub:
                by_hub[key] = []
                order.append(g.hub)
            by_hub[key].append(g)
        for hub in order:
            greenlets = by_hub[hub.address]
            in_loop = _counter(hub["turn_"]) % 2 == 0
            try:
                thread = "gdb thread %d" % _thread_of(hub).num
            except gdb.GdbError:
                thread = "no gdb thread"
            print("hub %#x on thread %d (%s): %d greenlets, switches %d, %s" % (
                hub.address, int(hub["tid_"]), thread, len(greenlets), (_counter(hub["turn_"]) + 1) // 2,
                "the hub runs its loop" if in_loop else "a greenlet runs"))
            for g in greenlets:
                print("  %6d  %-24s %s" % (g.id, g.name, g.state()))


class _Registers:
    """Loads a saved fcontext into the selected thread's frame 0; restores on exit."""

    def __init__(self, context):
        self.context = context

    def __enter__(self):
        gdb.newest_frame().select()
        names = ["rip", "rsp"] + [name for name, _ in _SAVED]
        self.saved = {name: int(gdb.parse_and_eval("$" + name)) for name in names}
        inferior = gdb.selected_inferior()

        def word(offset):
            return int.from_bytes(bytes(inferior.read_memory(self.context + offset, 8)), "little")

        values = {name: word(offset) for name, offset in _SAVED}
        values["rip"] = word(_RIP_OFFSET)
        values["rsp"] = self.context + _RSP_OFFSET
        for name, value in values.items():
            gdb.execute("set $%s = %#x" % (name, value), to_string=True)
        return self

    def __exit__(self, *exc):
        gdb.newest_frame().select()
        for name, value in self.saved.items():
            gdb.execute("set $%s = %#x" % (name, value), to_string=True)
        return False


def _backtrace(g):
    thread = _thread_of(g.hub)
    previous = gdb.selected_thread()
    thread.switch()
    try:
        print("greenlet %d '%s' (%s) on thread %d:" % (g.id, g.name, g.state(), int(g.hub["tid_"])))
        if g.is_running():
            gdb.execute("bt -raw-frame-arguments on")
        elif _enum_name(g.value["state_"]) == "not_started" or g.context() == 0:
            print("  (not started: no stack yet)")
        else:
            with _Registers(g.context()):
                gdb.execute("bt -raw-frame-arguments on")
    finally:
        previous.switch()


class GreenBt(gdb.Command):
    """Backtrace of a greenlet: green-bt ID, green-bt NAME or green-bt all"""

    def __init__(self):
        super().__init__("green-bt", gdb.COMMAND_STACK)

    def invoke(self, argument, from_tty):
        argument = argument.strip()
        if not argument:
            raise gdb.GdbError("usage: green-bt ID | NAME | all")
        greenlets = list(_greenlets())
        if argument == "all":
            chosen = greenlets
        else:
            chosen = [g for g in greenlets if str(g.id) == argument or g.name == argument]
            if not chosen:
                raise gdb.GdbError("green-bt: no live greenlet with id or name '%s' (see green-info)" % argument)
        for g in chosen:
            _backtrace(g)


GreenInfo()
GreenBt()
