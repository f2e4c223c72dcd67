# smarm — one GNU Makefile, out-of-tree build in build/.
#
#   make                 libsmarm.a, libsmarm.so, examples
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
BENCHES  := $(patsubst tests/bench/%.c,$(BUILD)/bench/%,$(wildcard tests/bench/*.c))
TPROGS   := $(patsubst tests/runtime/progs/%.c,$(BUILD)/tests/progs/%,$(wildcard tests/runtime/progs/*.c))
TRT_OBJ  := $(patsubst %.c,$(BUILD)/%.o,$(wildcard tests/runtime/test_*.c))
TRT_BIN  := $(BUILD)/tests/test_runtime

LIBS     = -lpthread -ldl $(LIBMI)

.PHONY: all test bench examples install clean demo
all: $(LIB_A) $(LIB_SO) $(EXAMPLES)

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

$(LIB_A): $(RT_OBJ) $(MAIN_OBJ)
	@rm -f $@
	ar rcs $@ $^
$(LIB_SO): $(RT_OBJ) $(MAIN_OBJ)
	$(CC) -shared -Wl,-z,defs -Wl,-soname,libsmarm.so $(LDSAN) -o $@ $^ $(LIBS)

$(BUILD)/examples/%: examples/%.c $(LIB_A)
	@mkdir -p $(@D)
	$(CC) $(APPCFLAGS) $< -o $@ $(LDSAN) $(LIB_A) $(LIBS) -lm
examples: $(EXAMPLES)

$(BUILD)/bench/%: tests/bench/%.c $(LIB_A)
	@mkdir -p $(@D)
	$(CC) $(APPCFLAGS) $< -o $@ $(LDSAN) $(LIB_A) $(LIBS) -lm

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

test: $(TRT_BIN) $(TPROGS)
	$(TRT_BIN) -j2 --timeout 120

bench: $(BENCHES)
	@for b in $(BENCHES); do echo "== $$b"; $$b || exit 1; done

demo: all
	@for e in $(EXAMPLES); do echo "== $$e"; $$e || exit 1; done

install: $(LIB_A) $(LIB_SO)
	install -d $(DESTDIR)$(PREFIX)/include $(DESTDIR)$(PREFIX)/lib/pkgconfig
	install -m 644 runtime/smarm.h $(DESTDIR)$(PREFIX)/include/smarm.h
	install -m 644 $(LIB_A) $(DESTDIR)$(PREFIX)/lib/libsmarm.a
	install -m 755 $(LIB_SO) $(DESTDIR)$(PREFIX)/lib/libsmarm.so
	sed -e 's|@PREFIX@|$(PREFIX)|g' smarm.pc.in > $(DESTDIR)$(PREFIX)/lib/pkgconfig/smarm.pc

clean:
	rm -rf build build-san

-include $(shell find $(BUILD) -name '*.d' 2>/dev/null)
