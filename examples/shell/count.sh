#!/bin/sh
# The smallest program MetaSweep can run: reads its parameters (a JSON object) from standard input,
# ignores them but for the seed, and reports one metric. The shell example's sweep runs it.
read -r parameters
seed=$(printf '%s' "$parameters" | sed 's/.*"seed":\([0-9]*\).*/\1/')
echo "@metasweep {\"metric\": \"seed_squared\", \"value\": $((seed * seed))}"
echo '@metasweep {"done": true}'
