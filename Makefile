# smarm — one GNU Makefile, out-of-tree build in build/.
#
#   make                 libsmarm.a, libsmarm.so, libsmarm_preload.so, smarm-run,
#                        examples
#   make test            Criterion suites; non-zero exit on any failure
#   make test SAN=address,undefined
#   make bench           benchmark programs, one table each
#   make examples
#   make install PREFIX=/usr/local DESTDIR=
#   make demo            the README's main job

PREFIX  ?= /usr/local
DESTDIR ?=
BUILD   ?= build
SAN     ?=

CC      ?= gcc
CFLAGS  ?= -O2 -g
WARN     = -Wall -Wextra -Werror -Wshadow
BASE     = -std=gnu11 -D_GNU_SOURCE -fno-omit-frame-pointer -pthread $(WARN) -MMD -MP
ifneq ($(SAN),)
BUILD   := $(BUILD)-san
BASE    += -fsanitize=$(SAN) -fno-sanitize-recover=all
LDSAN    = -fsanitize=$(SAN)
endif
LIBCFLAGS = $(BASE) $(CFLAGS) -fPIC -fvisibility=hidden -Iruntime
APPCFLAGS = $(BASE) $(CFLAGS) -Iruntime

RT_C    := $(sort $(wildcard runtime/*.c))
RT_S    := $(sort $(wildcard runtime/*.S))
RT_MAIN := runtime/entry_main.c
RT_OBJ  := $(patsubst %.c,$(BUILD)/%.o,$(filter-out $(RT_MAIN),$(RT_C))) \
           $(patsubst %.S,$(BUILD)/%.o,$(RT_S))
# libc replacements that link-mode programs get from libsmarm: the malloc
# family over mimalloc.  Sanitizers that bring their own allocator keep it.
comma   := ,
ifeq ($(filter address thread memory leak hwaddress,$(subst $(comma), ,$(SAN))),)
SHIM_C  := shim/malloc.c
LIBMI   := -lmimalloc
APPCFLAGS += -DSMARM_MALLOC_SHIM=1
endif
RT_OBJ  += $(patsubst %.c,$(BUILD)/%.o,$(SHIM_C))
# libsmarm's code goes in section smarm_text, not .text, so preempt.c can
# tell it from the program's even when libsmarm.a is linked into the program
# (the linker defines __start_smarm_text and __stop_smarm_text).  Library
# objects depend on this Makefile so a change here rebuilds them all.
OBJCOPY ?= objcopy
SMARM_TEXT := $(foreach s,.text .text.unlikely .text.hot .text.startup .text.exit, \
	--rename-section $(s)=smarm_text$(comma)alloc$(comma)load$(comma)readonly$(comma)code$(comma)contents)
MAIN_OBJ := $(BUILD)/runtime/entry_main.o

LIB_A   := $(BUILD)/libsmarm.a
LIB_SO  := $(BUILD)/libsmarm.so

EXAMPLES := $(patsubst examples/%.c,$(BUILD)/examples/%,$(wildcard examples/*.c))
# Examples that are plain pthread programs (no smarm.h): built without
# libsmarm, to be run natively and under smarm-run.
PLAIN_EX := $(patsubst examples/%.c,$(BUILD)/examples/%,$(shell grep -L 'smarm\.h' examples/*.c))
BENCHES  := $(patsubst tests/bench/%.c,$(BUILD)/bench/%,$(wildcard tests/bench/*.c))
TPROGS   := $(patsubst tests/runtime/progs/%.c,$(BUILD)/tests/progs/%,$(wildcard tests/runtime/progs/*.c))
TRT_OBJ  := $(patsubst %.c,$(BUILD)/%.o,$(wildcard tests/runtime/test_*.c))
TRT_BIN  := $(BUILD)/tests/test_runtime

LIBS     = -lpthread -ldl $(LIBMI)

# Drop-in mode (preload/ -> shim/ -> runtime/): libsmarm_preload.so.  The
# runtime's objects are reused with their references to the names the shim
# interposes (pthread_create, nanosleep ...) renamed to the shim's
# smarm__real_* (preload/real.syms), so the runtime always reaches libc's.
# Not built under sanitizers (their allocators and interceptors own the
# same names).
PRE_SO    := $(BUILD)/libsmarm_preload.so
PRE_RUN   := $(BUILD)/smarm-run
PRE_SHIM  := $(patsubst %.c,$(BUILD)/%.o,$(filter-out shim/malloc.c,$(wildcard shim/*.c))) \
             $(patsubst %.S,$(BUILD)/%.o,$(wildcard shim/*.S))
PRE_OBJ   := $(patsubst $(BUILD)/%.o,$(BUILD)/preload/rt/%.o,$(RT_OBJ)) $(PRE_SHIM) \
             $(patsubst %.c,$(BUILD)/%.o,$(wildcard preload/*.c))
PPROGS    := $(patsubst tests/preload/progs/%.c,$(BUILD)/tests/pprogs/%,$(wildcard tests/preload/progs/*.c))
PPROGS    += $(patsubst tests/preload/progs/%.cc,$(BUILD)/tests/pprogs/%,$(wildcard tests/preload/progs/*.cc))
TPRE_BIN  := $(BUILD)/tests/test_preload
ifeq ($(SAN),)
PRELOAD   := $(PRE_SO) $(PRE_RUN)
endif

.PHONY: all test bench examples install clean demo
all: $(LIB_A) $(LIB_SO) $(PRELOAD) $(EXAMPLES)

$(BUILD)/runtime/%.o: runtime/%.c Makefile
	@mkdir -p $(@D)
	$(CC) $(LIBCFLAGS) -MF $(@:.o=.d) -MT $@ -c $< -o $@.tmp
	$(OBJCOPY) $(SMARM_TEXT) $@.tmp $@ && rm -f $@.tmp
$(BUILD)/runtime/%.o: runtime/%.S Makefile
	@mkdir -p $(@D)
	$(CC) $(LIBCFLAGS) -MF $(@:.o=.d) -MT $@ -c $< -o $@.tmp
	$(OBJCOPY) $(SMARM_TEXT) $@.tmp $@ && rm -f $@.tmp
$(BUILD)/shim/%.o: shim/%.c Makefile
	@mkdir -p $(@D)
	$(CC) $(LIBCFLAGS) -fno-plt -MF $(@:.o=.d) -MT $@ -c $< -o $@.tmp
	$(OBJCOPY) $(SMARM_TEXT) $@.tmp $@ && rm -f $@.tmp
$(BUILD)/shim/%.o: shim/%.S Makefile
	@mkdir -p $(@D)
	$(CC) $(LIBCFLAGS) -MF $(@:.o=.d) -MT $@ -c $< -o $@.tmp
	$(OBJCOPY) $(SMARM_TEXT) $@.tmp $@ && rm -f $@.tmp

$(BUILD)/preload/%.o: preload/%.c Makefile
	@mkdir -p $(@D)
	$(CC) $(LIBCFLAGS) -MF $(@:.o=.d) -MT $@ -c $< -o $@.tmp
	$(OBJCOPY) $(SMARM_TEXT) $@.tmp $@ && rm -f $@.tmp
$(BUILD)/preload/rt/%.o: $(BUILD)/%.o preload/real.syms
	@mkdir -p $(@D)
	$(OBJCOPY) --redefine-syms=preload/real.syms $< $@
# The export list is made from the shim's and the entry's objects: every
# default-visibility definition there is an interposed libc name (smarm's
# own names are hidden).  The runtime objects must not reference any of
# them (the malloc family aside: the runtime allocates through it on
# purpose), or the runtime would call the shim's wrapper instead of libc's:
# each such name needs a line in preload/real.syms (checked here).
PRE_IFACE := $(PRE_SHIM) $(patsubst %.c,$(BUILD)/%.o,$(wildcard preload/*.c))
DEFINED    = readelf -sW $(1) | awk '($$5=="GLOBAL" || $$5=="WEAK") && $$6=="DEFAULT" && $$7!="UND" \
		{ print $$8 }' | sed 's/@.*//' | sort -u
$(BUILD)/preload/exports.map: $(PRE_OBJ)
	@$(call DEFINED,$(PRE_IFACE)) > $@.names
	@readelf -sW $(filter $(BUILD)/preload/rt/%,$(PRE_OBJ)) | \
		awk '$$7=="UND" { print $$8 }' | sed 's/@.*//' | sort -u | \
		comm -12 - $@.names > $@.leak; \
	if [ -s $@.leak ]; then echo "runtime objects call interposed names (add to preload/real.syms):"; \
		cat $@.leak; exit 1; fi
	@{ echo '{ global:'; { cat $@.names; $(call DEFINED,$(BUILD)/preload/rt/shim/malloc.o); } | \
		sed 's/.*/  &;/'; echo 'local: *; };'; } > $@
$(PRE_SO): $(PRE_OBJ) $(BUILD)/preload/exports.map
	$(CC) -shared -Wl,-z,defs -Wl,-soname,libsmarm_preload.so \
		-Wl,--version-script=$(BUILD)/preload/exports.map -o $@ $(PRE_OBJ) $(LIBS) -lgcc_s -lseccomp
$(PRE_RUN): preload/smarm-run
	install -m 755 $< $@

$(LIB_A): $(RT_OBJ) $(MAIN_OBJ)
	@rm -f $@
	ar rcs $@ $^
$(LIB_SO): $(RT_OBJ) $(MAIN_OBJ)
	$(CC) -shared -Wl,-z,defs -Wl,-soname,libsmarm.so $(LDSAN) -o $@ $^ $(LIBS)

$(BUILD)/examples/%: examples/%.c $(LIB_A)
	@mkdir -p $(@D)
	$(CC) $(APPCFLAGS) $< -o $@ $(LDSAN) $(LIB_A) $(LIBS) -lm
$(PLAIN_EX): $(BUILD)/examples/%: examples/%.c
	@mkdir -p $(@D)
	$(CC) -std=gnu11 -D_GNU_SOURCE -O2 -g -pthread $(WARN) $< -o $@
examples: $(EXAMPLES)

$(BUILD)/bench/%: tests/bench/%.c $(LIB_A)
	@mkdir -p $(@D)
	$(CC) $(APPCFLAGS) $< -o $@ $(LDSAN) $(LIB_A) $(LIBS) -lm

# bench_strict starts drop-in programs (tests/bench/dropin/strict_*, built
# by the drop-in benchmarks' rule below) natively and under the preload.
DROPIN_B := $(patsubst tests/bench/dropin/%.c,$(BUILD)/bench/dropin/%,$(wildcard tests/bench/dropin/strict_*.c))
$(BUILD)/bench/bench_strict: APPCFLAGS += -DSMARM_PRELOAD_LIB='"$(abspath $(PRE_SO))"' \
	-DSMARM_BENCH_DROPIN='"$(abspath $(BUILD))/bench/dropin"'
$(BUILD)/bench/bench_strict: $(DROPIN_B) $(PRELOAD)

$(BUILD)/tests/progs/%: tests/runtime/progs/%.c $(LIB_A)
	@mkdir -p $(@D)
	$(CC) $(APPCFLAGS) $< -o $@ $(LDSAN) $(LIB_A) $(LIBS) -lm

# Test files may include runtime/internal.h to reach the internal interfaces.
$(BUILD)/tests/%.o: tests/%.c
	@mkdir -p $(@D)
	$(CC) $(APPCFLAGS) -DSMARM_TEST_PROGS='"$(abspath $(BUILD))/tests/progs"' -c $< -o $@
# -lcriterion before the archive: Criterion's main must win over libsmarm's.
$(TRT_BIN): $(TRT_OBJ) $(LIB_A)
	@mkdir -p $(@D)
	$(CC) $(LDSAN) -o $@ $(TRT_OBJ) -lcriterion $(LIB_A) $(LIBS) -lm

# Drop-in tests: plain pthread programs (no smarm headers), run natively
# and under the preload by a Criterion binary that is itself never preloaded.
# -rdynamic: strict mode's audit names the programs' functions (dladdr).
$(BUILD)/tests/pprogs/%: tests/preload/progs/%.c
	@mkdir -p $(@D)
	$(CC) -std=gnu11 -D_GNU_SOURCE -O2 -g -pthread -rdynamic $(WARN) $< -o $@
# smarm-run must refuse a statically linked program (test_api.c).
$(BUILD)/tests/pprogs/static_hello: tests/preload/progs/static_hello.c
	@mkdir -p $(@D)
	$(CC) -std=gnu11 -O2 -static $(WARN) $< -o $@
$(BUILD)/tests/pprogs/%: tests/preload/progs/%.cc
	@mkdir -p $(@D)
	$(CXX) -O2 -g -pthread $(WARN) $< -o $@
$(BUILD)/tests/preload/%.o: tests/preload/%.c
	@mkdir -p $(@D)
	$(CC) $(APPCFLAGS) -DSMARM_PRELOAD_LIB='"$(abspath $(PRE_SO))"' \
		-DSMARM_PRELOAD_PROGS='"$(abspath $(BUILD))/tests/pprogs"' -c $< -o $@
TPRE_OBJ := $(patsubst %.c,$(BUILD)/%.o,$(wildcard tests/preload/test_*.c))
$(TPRE_BIN): $(TPRE_OBJ)
	$(CC) -o $@ $^ -lcriterion

ifeq ($(SAN),)
TEST_PRELOAD := $(TPRE_BIN) $(PRE_SO) $(PRE_RUN) $(PPROGS)
endif
test: $(TRT_BIN) $(TPROGS) $(TEST_PRELOAD)
	timeout 900 $(TRT_BIN) -j2 --timeout 120
	$(if $(TEST_PRELOAD),timeout 600 $(TPRE_BIN) -j2 --timeout 120)

# bench_handoff runs drop-in programs natively and under the preload.
ifeq ($(SAN),)
$(BUILD)/bench/bench_handoff: $(PRE_SO) $(PPROGS)
$(BUILD)/bench/bench_handoff: APPCFLAGS += -DSMARM_PRELOAD_LIB='"$(abspath $(PRE_SO))"' \
	-DSMARM_PRELOAD_PROGS='"$(abspath $(BUILD))/tests/pprogs"'
else
BENCHES := $(filter-out $(BUILD)/bench/bench_handoff,$(BENCHES))
endif

# Drop-in benchmarks: plain pthread programs (tests/bench/dropin/*.c), each
# run natively and under the preload, side by side (run.sh).
# (strict_*: bench_strict runs those itself, with arguments.)
DROPIN_ALL   := $(patsubst tests/bench/dropin/%.c,$(BUILD)/bench/dropin/%,$(wildcard tests/bench/dropin/*.c))
DROPIN_BENCH := $(filter-out $(DROPIN_B),$(DROPIN_ALL))
$(BUILD)/bench/dropin/%: tests/bench/dropin/%.c
	@mkdir -p $(@D)
	$(CC) -std=gnu11 -D_GNU_SOURCE -O2 -g -pthread $(WARN) $< -o $@
ifneq ($(SAN),)
DROPIN_BENCH :=
endif

bench: $(BENCHES) $(if $(DROPIN_BENCH),$(DROPIN_BENCH) $(PRE_SO))
	@for b in $(BENCHES); do echo "== $$b"; $$b || exit 1; done
	$(if $(DROPIN_BENCH),@echo "== drop-in: natively vs $(PRE_SO)"; \
		sh tests/bench/dropin/run.sh $(abspath $(PRE_SO)) $(DROPIN_BENCH))

demo: all
	@for e in $(PLAIN_EX); do \
		echo "== $$e, natively (expected to stop at this machine's thread limit)"; \
		$$e || true; \
		echo "== $(PRE_RUN) $$e"; $(PRE_RUN) $$e || exit 1; done
	@for e in $(filter-out $(PLAIN_EX),$(EXAMPLES)); do echo "== $$e"; $$e || exit 1; done

install: $(LIB_A) $(LIB_SO) $(PRE_SO) $(PRE_RUN)
	install -d $(DESTDIR)$(PREFIX)/include $(DESTDIR)$(PREFIX)/lib/pkgconfig \
		$(DESTDIR)$(PREFIX)/bin
	install -m 755 $(PRE_SO) $(DESTDIR)$(PREFIX)/lib/libsmarm_preload.so
	install -m 755 $(PRE_RUN) $(DESTDIR)$(PREFIX)/bin/smarm-run
	install -m 644 runtime/smarm.h $(DESTDIR)$(PREFIX)/include/smarm.h
	install -m 644 $(LIB_A) $(DESTDIR)$(PREFIX)/lib/libsmarm.a
	install -m 755 $(LIB_SO) $(DESTDIR)$(PREFIX)/lib/libsmarm.so
	sed -e 's|@PREFIX@|$(PREFIX)|g' smarm.pc.in > $(DESTDIR)$(PREFIX)/lib/pkgconfig/smarm.pc

clean:
	rm -rf build build-san

-include $(shell find $(BUILD) -name '*.d' 2>/dev/null)
