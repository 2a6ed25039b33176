"""What the pushed-event marketplace simulators (抖店, 快手, 微信小店) share.

These platforms hold stock as a number the seller adjusts (often by deltas), sell from it the
moment a buyer pays, list orders and after-sales over bounded time windows, and push events to a
URL set in their console, at least once, with their own signatures and retry schedules. The
pieces here are platform-neutral; each platform package adds its gateway, signing, error codes
and payload shapes:

- `shop` — the in-memory shop: products and SKUs (with platform-held reserved stock), orders with
  lines and packages, after-sales, and the events they raise;
- `pushes` — a push queue with a platform's retry schedule, answer check, timeout, loss and
  duplicates;
- `limits` — fixed-window rate counters (per-API QPS, per-minute and daily quotas) in simulated
  time;
- `privacy` — masked and encrypted receiver data, as these platforms hand it out;
- `simulator` — the `sandbox.interface.Simulator` implementation the three classes extend;
- `control` — the `/_sandbox/` control plane.
"""
