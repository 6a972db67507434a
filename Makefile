# Thin wrapper over meson: the two commands a newcomer needs.
#   make run   install what is missing, build, set up ./var, run postinod
#   make test  install what is missing, build with ASan+UBSan, run every test
#   make fuzz  libFuzzer targets, 10 minutes each (FUZZ=TARGET, MINUTES=N)
#   make tsan  build with ThreadSanitizer, run every test (by hand; slow)
BUILD      ?= build
TEST_BUILD ?= build-test
TSAN_BUILD ?= build-tsan
CONF       ?= etc/postino.dev.conf

# Debian 12 packages: build, library and test dependencies. Every program
# the tests run is in t/required-tools too, with a probe that t/run-tests
# checks first (swaks' TLS needs libnet-ssleay-perl, which it only
# recommends, and --no-install-recommends leaves out).
DEPS = gcc make pkg-config binutils python3 meson ninja-build curl swaks \
       libnet-ssleay-perl openssl fetchmail isync getmail6 sieve-connect \
       neomutt \
       libuv1-dev libgnutls28-dev libssl-dev libsqlite3-dev libcrypt-dev \
       libinih-dev check libsubunit-dev gnutls-bin libgmime-3.0-dev \
       libspf2-dev libpwquality-dev cracklib-runtime libhttp-parser-dev \
       chromium chromium-driver python3-selenium
# Only for make fuzz (libFuzzer ships in clang's runtime libraries).
FUZZ_DEPS = clang libclang-rt-dev
FUZZ      ?= all
MINUTES   ?= 10

.PHONY: all deps fuzz-deps build run test tsan fuzz clean

all: build

deps:
	@core/scripts/install-deps $(DEPS)

fuzz-deps:
	@core/scripts/install-deps $(FUZZ_DEPS)

build: deps
	@test -f $(BUILD)/build.ninja || meson setup $(BUILD) -Dtests=false
	ninja -C $(BUILD)

run: build
	core/scripts/dev-setup $(BUILD) $(CONF)
	exec $(BUILD)/core/daemon/postinod -c $(CONF)

test: deps
	@test -f $(TEST_BUILD)/build.ninja || meson setup $(TEST_BUILD) \
		-Db_sanitize=address,undefined -Db_lundef=false
	ninja -C $(TEST_BUILD)
	python3 t/run-tests $(TEST_BUILD)

# The workers' threads under ThreadSanitizer: every test, the integration
# suite with one and with two workers; a data race is a sanitizer report,
# which fails the test that provoked it. Not part of make test (several
# times slower); run it after touching anything threads share. GLib's
# slice allocator (GMime's) hands memory between threads in ways the
# uninstrumented library hides from TSan: plain malloc instead.
tsan: deps
	@test -f $(TSAN_BUILD)/build.ninja || meson setup $(TSAN_BUILD) \
		-Db_sanitize=thread -Db_lundef=false
	ninja -C $(TSAN_BUILD)
	TSAN_OPTIONS="halt_on_error=0 second_deadlock_stack=1 suppressions=$(CURDIR)/t/tsan.supp" \
		G_SLICE=always-malloc python3 t/run-tests $(TSAN_BUILD)

# libFuzzer targets in build-fuzz (t/fuzz/README): FUZZ=TARGET|all, MINUTES.
fuzz: deps fuzz-deps
	t/fuzz/run $(FUZZ) $(MINUTES)

clean:
	rm -rf $(BUILD) $(TEST_BUILD) $(TSAN_BUILD) build-fuzz
