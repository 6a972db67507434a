# Thin wrapper over meson: the two commands a newcomer needs.
#   make run   install what is missing, build, set up ./var, run postinod
#   make test  install what is missing, build with ASan+UBSan, run every test
BUILD      ?= build
TEST_BUILD ?= build-test
CONF       ?= etc/postino.dev.conf

# Debian 12 packages: build, library and test dependencies.
DEPS = gcc make pkg-config python3 meson ninja-build curl swaks fetchmail \
       libuv1-dev libgnutls28-dev libsqlite3-dev libcrypt-dev libinih-dev \
       check libsubunit-dev gnutls-bin \
       libpwquality-dev cracklib-runtime

.PHONY: all deps build run test clean

all: build

deps:
	@core/scripts/install-deps $(DEPS)

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

clean:
	rm -rf $(BUILD) $(TEST_BUILD)
