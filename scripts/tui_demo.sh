#!/usr/bin/env bash
# A look at `cliffhanger chat` by eye: starts `cliffhanger sim` on a free port and opens the terminal UI
# against it in a tmux session (window 0: the sim's log, window 1: the app).
#
#   scripts/tui_demo.sh [SEASON_DIR]     # default: a fresh 12-episode season in a temp folder
#   TUI_DEMO_DRAFT=3 scripts/tui_demo.sh # draft episodes 1-3 first, so the board has something to show
#   TUI_DEMO_TPS=30 TUI_DEMO_TTFT_MS=400 # sim speed: slow enough to watch replies stream (defaults)
#
# Exit 2 when tmux is missing. In the app: F2 board, F3 bible, F4 chat, F5 draft next, Ctrl+P palette,
# Ctrl+Q quit. `tmux kill-session -t NAME` (printed below) stops the sim afterwards.
set -euo pipefail

if ! command -v tmux >/dev/null 2>&1; then
    echo "tui_demo: tmux is not installed (e.g. apt-get install tmux): it is needed to show the app" >&2
    exit 2
fi

PY=${PYTHON:-$(command -v python3 || command -v python)}
CLI=("$PY" -m cliffhanger.app)
DIR=${1:-$(mktemp -d -t cliffhanger-tui-XXXXXX)/season}
PORT=$("$PY" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
URL="http://127.0.0.1:$PORT/v1"
SESSION="cliffhanger-tui-$PORT"
MODEL_FLAGS=(--provider sim --base-url "$URL")

tmux new-session -d -s "$SESSION" -x 130 -y 40 -n sim \
    "${CLI[*]} sim --port $PORT --tps ${TUI_DEMO_TPS:-30} --ttft-ms ${TUI_DEMO_TTFT_MS:-400}; read -r"

for _ in $(seq 1 100); do
    if "$PY" -c "import urllib.request, sys; urllib.request.urlopen('$URL'.rsplit('/v1', 1)[0] + '/health', timeout=1)" \
        2>/dev/null; then
        break
    fi
    sleep 0.1
done

if [ ! -f "$DIR/season.toml" ]; then
    "${CLI[@]}" new "$DIR" --genre revenge_us --episodes 12 --free 4 --runtime 60 --title "The Swapped Heiress" \
        --logline "A maid humiliated at the engagement party is the heiress they swapped at birth, and tonight she takes her name back."
fi
if [ -n "${TUI_DEMO_DRAFT:-}" ]; then
    # Drafting against the slow demo sim would take long: a second, instant sim does it.
    "${CLI[@]}" draft "$DIR" --until "$TUI_DEMO_DRAFT" --provider sim --max-revisions 0
fi

tmux new-window -t "$SESSION" -n chat "${CLI[*]} chat '$DIR' ${MODEL_FLAGS[*]}; read -r"
echo "season: $DIR"
echo "sim:    $URL"
echo "tmux:   tmux attach -t $SESSION   (stop the sim with: tmux kill-session -t $SESSION)"
if [ -t 0 ] && [ -t 1 ]; then
    exec tmux attach -t "$SESSION"
fi
