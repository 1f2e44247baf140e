# opswat.itot — developer commands.  `make test` is what CI runs (.ci/run).
.PHONY: test sanity units integration lint docs emulator-test build clean

test:
	bash hacking/test.sh

emulator-test:
	bash hacking/test.sh emulator

sanity units integration lint docs build:
	bash hacking/test.sh $@

clean:
	rm -rf .build .venv
