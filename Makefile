# opswat.itot — developer commands.  `make test` is what CI runs (.ci/run).
.PHONY: demo demo-eda test bench ruff sanity units mutate integration matrix eda molecule lint docs docsite emulator-test build installed clean

demo:
	bash hacking/demo.sh

# demo-eda: ansible-rulebook with the failed-logins rulebook against the emulator; the rule fires once (Java 17 needed)
demo-eda:
	bash hacking/demo-eda.sh

test:
	bash hacking/test.sh

bench:
	bash hacking/bench.sh $(BENCH_ARGS)

emulator-test:
	bash hacking/test.sh emulator

# mutate: hacking/mutate.py (hand mutations of the walk, merge, overlap edges and chain; each must be caught)
ruff sanity units mutate integration matrix eda molecule lint docs docsite build installed:
	bash hacking/test.sh $@

clean:
	rm -rf .build .venv
