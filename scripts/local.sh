#!/usr/bin/env bash
# make local: moto_server (a local Kinesis) on 127.0.0.1:MOTO_PORT, the streams ride_events and
# ride_prediction, and `predict stream ride_events` in the foreground; Ctrl-C stops them all.
# It first checks what would otherwise hang or fail with another program's error: the AWS CLI
# (v2: the README's walkthrough needs it), moto_server, and the port.
#
# It prints the line that sets up another terminal for the walkthrough: the CLI's directory first
# on PATH, the region and the dummy credentials.
#
# Environment (the Makefile sets it): AWS, the AWS CLI (default aws: the first v2 on PATH); GO (default
# go); MOTO_PORT (default 5000); the endpoint, region and dummy credentials of the local Kinesis.
set -euo pipefail
cd "$(dirname "$0")/.."

aws=${AWS:-aws}
go=${GO:-go}
port=${MOTO_PORT:-5000}
endpoint=http://127.0.0.1:$port
# The endpoint goes on the command line as well: Debian 12's AWS CLI v2 (2.9) predates
# AWS_ENDPOINT_URL, and would call AWS itself.
local_aws=("$aws" --endpoint-url "$endpoint")
install_v2="install AWS CLI v2 (https://docs.aws.amazon.com/cli/latest/userguide/getting-started-install.html; Debian 12: apt-get install awscli)"

fail() {
	printf 'make local: %s\n' "$*" >&2
	exit 1
}

# listening tells whether something accepts connections on 127.0.0.1:port.
listening() {
	(exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null
}

command -v "$aws" >/dev/null ||
	fail "the AWS CLI ($aws) is not found: $install_v2 and put it on PATH, or name it: make local AWS=/path/to/aws"
version=$("$aws" --version 2>&1) || fail "$aws --version failed: $version"
# A v1 first on PATH (pyenv's, say) with a v2 after it: the v2, named, and in the line printed for
# the other terminal.
if [[ $aws == aws && $version == aws-cli/1.* ]]; then
	while read -r other; do
		case $("$other" --version 2>&1) in
		aws-cli/[2-9].*)
			printf 'make local: %s is AWS CLI v1; using %s, AWS CLI v2, the one the walkthrough needs\n' "$(command -v aws)" "$other" >&2
			aws=$other
			version=$("$aws" --version 2>&1)
			break
			;;
		esac
	done < <(type -ap aws)
	local_aws=("$aws" --endpoint-url "$endpoint")
fi
case $version in
aws-cli/[2-9].*) ;;
aws-cli/1.*)
	fail "$(command -v "$aws") is AWS CLI v1 ($version); the walkthrough's commands need v2 (with v1, step 5 fails with \"Unknown options: --cli-binary-format\"): $install_v2 and put it first on PATH (the walkthrough runs aws), e.g. PATH=/usr/bin:\$PATH if it is /usr/bin/aws" ;;
*)
	fail "$aws --version says \"$version\", not aws-cli/2.x: the walkthrough's commands need AWS CLI v2: $install_v2, or name it: make local AWS=/path/to/aws" ;;
esac
command -v moto_server >/dev/null || fail "moto_server not found: pip install 'moto[server]'"

if listening; then
	if AWS_MAX_ATTEMPTS=1 "${local_aws[@]}" --cli-connect-timeout 5 --cli-read-timeout 5 kinesis list-streams >/dev/null 2>&1; then
		fail "a Kinesis API already answers on $endpoint: make local (or moto_server) is running already. Use that one, stop it (Ctrl-C in its terminal), or start this one on another port: make local MOTO_PORT=5001 (the README's commands then need that port)"
	fi
	who=$({ ss -Hltnp "sport = :$port" 2>/dev/null || lsof -nP -iTCP:"$port" -sTCP:LISTEN 2>/dev/null || true; } | head -3 | tr -s ' \n' ' ')
	fail "127.0.0.1:$port is taken by another program, not moto${who:+ (${who% })}: stop it, or make local MOTO_PORT=5001 (the README's commands then need that port). On macOS, the AirPlay Receiver listens on port 5000."
fi

log=$(mktemp)
moto_server -H 127.0.0.1 -p "$port" >"$log" 2>&1 &
moto=$!
stop() {
	kill "$moto" 2>/dev/null || true
	wait "$moto" 2>/dev/null || true
	rm -f "$log"
}
trap stop EXIT
trap 'exit 130' INT TERM

for ((wait = 0; ; wait++)); do
	listening && break
	kill -0 "$moto" 2>/dev/null || fail "moto_server stopped; its log ends:
$(tail -5 "$log")"
	((wait < 600)) || fail "moto_server did not listen on 127.0.0.1:$port within a minute; its log ends:
$(tail -5 "$log")"
	sleep 0.1
done
for s in ride_events ride_prediction; do
	"${local_aws[@]}" kinesis create-stream --stream-name "$s" --shard-count 1
done
aws_dir=$(dirname "$(command -v "$aws")")
echo "Kinesis on $endpoint: streams ride_events, ride_prediction. In another terminal, this AWS CLI first on PATH:"
echo "  export PATH=$aws_dir:\$PATH AWS_DEFAULT_REGION=us-east-1 AWS_ACCESS_KEY_ID=testing AWS_SECRET_ACCESS_KEY=testing AWS_DEFAULT_OUTPUT=text"
echo "then put rides with:"
echo "  aws --endpoint-url $endpoint kinesis put-record --stream-name ride_events --partition-key 1 --cli-binary-format raw-in-base64-out --data '{\"ride\": {\"PULocationID\": 130, \"DOLocationID\": 205, \"trip_distance\": 3.66}, \"ride_id\": 123}'"
"$go" run ./cmd/predict stream ride_events
