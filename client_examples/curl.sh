#!/usr/bin/env bash
# PaperDesk over plain HTTP: every step is a curl command you can paste; jq reads the JSON.
#
#   bash client_examples/curl.sh [BASE_URL]        (default http://localhost:8000)
#
# Stops at the first request that fails (curl --fail-with-body shows the error).
set -euo pipefail

BASE="${1:-http://localhost:8000}/api/v1"
EMAIL="${EMAIL:-curl-$RANDOM$RANDOM@example.com}"
PASSWORD="${PASSWORD:-correct horse battery}"
SYMBOL="${SYMBOL:-AAPL}"

api() { curl -sS --fail-with-body -H 'Content-Type: application/json' "$@"; }

echo "== register"
api "$BASE/auth/register" -d "{\"email\": \"$EMAIL\", \"password\": \"$PASSWORD\", \"name\": \"Curl\"}" | jq .user

echo "== login"
TOKEN=$(api "$BASE/auth/login" -d "{\"email\": \"$EMAIL\", \"password\": \"$PASSWORD\"}" | jq -r .access_token)
AUTH="Authorization: Bearer $TOKEN"

echo "== account"
api "$BASE/account" -H "$AUTH" | jq .account

echo "== an API key for a bot: its secret is shown only now; a read key may only read"
KEY=$(api "$BASE/me/api-keys" -H "$AUTH" -d '{"name": "curl bot", "scope": "read"}')
echo "$KEY" | jq -c '{name, scope, key_id}'
api "$BASE/account" -H "APCA-API-KEY-ID: $(echo "$KEY" | jq -r .key_id)" \
    -H "APCA-API-SECRET-KEY: $(echo "$KEY" | jq -r .secret)" | jq -c '.account | {cash, equity}'

echo "== quote"
api "$BASE/market/quotes/$SYMBOL" | jq .

echo "== a forecast of the next hour of 1m closes and its backtest (not investment advice;"
echo "   a symbol with under 100 closed candles answers 422 insufficient_history)"
curl -sS "$BASE/predict/$SYMBOL?horizon=60&timeframe=1m" | jq -c 'if .error then .error else {model: .model.name, last_close, next: .points[0], backtest, disclaimer: .disclaimer[:21]} end'
echo "== headlines that mention the symbol, newest first (stale: true while a feed is down)"
api "$BASE/news?symbol=$SYMBOL&limit=3" | jq -c '{stale, sources: [.sources[] | {name, ok}], titles: [.news[] | .title]}'

echo "== market order"
PLACE="{\"symbol\": \"$SYMBOL\", \"side\": \"buy\", \"quantity\": \"2\", \"client_order_id\": \"curl-$RANDOM$RANDOM\"}"
ORDER=$(api "$BASE/orders" -H "$AUTH" -d "$PLACE")
echo "$ORDER" | jq .order
TRADE=$(echo "$ORDER" | jq -r .order.trade_id)

echo "== the same request again, as after a lost answer: the same client_order_id returns the same order"
AGAIN=$(api "$BASE/orders" -H "$AUTH" -d "$PLACE" | jq -r .order.id)
if [ "$AGAIN" != "$(echo "$ORDER" | jq -r .order.id)" ]; then
  echo "the retry made a second order ($AGAIN)" >&2
  exit 1
fi
echo "retried: the same order $AGAIN"

echo "== open trades"
api "$BASE/trades?status=open" -H "$AUTH" | jq '.trades[] | {id, symbol, quantity, entry_price, unrealized_pnl}'

echo "== the net position (one per symbol)"
api "$BASE/positions/$SYMBOL" -H "$AUTH" | jq '.position | {symbol, side, quantity, average_entry, unrealized_pnl}'

echo "== sell half of it (an order of the other side closes lots first in, first out)"
api -X DELETE "$BASE/positions/$SYMBOL?percentage=50" -H "$AUTH" | jq '.order | {side, quantity, status, filled_price}'

echo "== a trailing stop on what is left: its stop follows the high 5% behind (hwm: the best price)"
api "$BASE/orders" -H "$AUTH" -d "{\"symbol\": \"$SYMBOL\", \"side\": \"sell\", \"type\": \"trailing_stop\", \"trail_percent\": \"5\", \"quantity\": \"1\"}" | jq -c '.order | {type, trail_percent, hwm, stop_price, status}'

echo "== a resting limit order, replaced at a new price, then every open order cancelled"
LIMIT=$(api "$BASE/orders" -H "$AUTH" -d "{\"symbol\": \"$SYMBOL\", \"side\": \"buy\", \"type\": \"limit\", \"limit_price\": \"1\", \"quantity\": \"1\"}" | jq -r .order.id)
api -X PATCH "$BASE/orders/$LIMIT" -H "$AUTH" -d '{"limit_price": "2"}' | jq '{new: .order.limit_price, old: .replaced.status}'
api -X DELETE "$BASE/orders" -H "$AUTH" | jq '[.orders[] | .status]'

echo "== exit what is left of the trade"
api -X POST "$BASE/trades/$TRADE/exit" -H "$AUTH" | jq '.trade | {status, close_price, realized_pnl}'

echo "== account activities (newest first: the exit, its P&L, the fill, the initial cash)"
api "$BASE/account/activities?limit=10" -H "$AUTH" | jq -c '.activities[] | {activity_type, symbol, side, qty, price, net_amount}'

echo "== portfolio history (today, a point a minute) and performance"
api "$BASE/account/portfolio/history?period=1D&timeframe=1Min" -H "$AUTH" | jq -c '{base_value, last: .equity[-1], points: (.timestamp | length)}'
api "$BASE/account/performance" -H "$AUTH" | jq -c '{realized_pnl, closed_trades, win_rate_pct, max_drawdown, sharpe_ratio}'

echo "== leaderboard: opt in (shown by name, never the email), the public board, your own rank"
echo "   (boards are recomputed every LEADERBOARD_INTERVAL, 5 min: you appear after the next pass)"
api -X PATCH "$BASE/me" -H "$AUTH" -d '{"leaderboard": true}' | jq -c '.user | {name, leaderboard}'
curl -sS --fail-with-body "$BASE/leaderboard?period=week&limit=10" | jq -c '{period, users, first: .entries[0]}'
api "$BASE/me/rating" -H "$AUTH" | jq -c '{leaderboard, rating, week: .boards.week}'

echo "== price alert"
api "$BASE/alerts" -H "$AUTH" -d "{\"symbol\": \"$SYMBOL\", \"condition\": \"above\", \"price\": \"1000000\"}" | jq '.alert | {id, status, condition, price}'

echo "== screener: the 5 tokens over \$100M that rose most in 24 h, and the funds that back them"
api "$BASE/screener?sort=change_24h&limit=5" | jq -c '{stale, updated_at, tokens: [.tokens[] | {symbol, price, change_24h, trading_symbol, funds: [.funds[].fund]}]}'
api "$BASE/screener?backed_by=Multicoin%20Capital" | jq -c '[.tokens[].symbol]'

echo "== Fear & Greed (crypto and US stocks, a week of history) and what they suggest"
api "$BASE/sentiment?days=7" | jq -c '.indices[] | {index, value, classification, stale, days: (.history | length)}'
api "$BASE/recommendations" | jq -c '.indices[] | {index, action, reason}'

echo "== an alert when the crypto Fear & Greed Index rises to 75 or more"
api "$BASE/alerts" -H "$AUTH" -d '{"symbol": "FNG:crypto", "condition": "above", "price": "75"}' | jq -c '.alert | {symbol, condition, price, status}'

echo "== notifications"
api "$BASE/notifications/unread-count" -H "$AUTH" | jq .

echo "== logout"
curl -sS --fail-with-body -X POST "$BASE/auth/logout" -H "$AUTH" -o /dev/null -w 'logout: %{http_code}\n'
