"""What the live-commerce marketplace connectors (抖店, 快手, 微信小店) share.

- `carriers`  the hub's carrier names (SF, 顺丰, ZTO, 中通 …) to each platform's own codes;
- `journal`   a write journal that guards delta stock writes on platforms that take no
              idempotency id (Kuaishou, WeChat): a retry after a lost answer never applies twice;
- `windows`   bounded time windows for order and after-sale polling, with checkpoints;
- `options`   reading and checking numeric account options.

Nothing here names a platform's API; each connector package keeps its own client, payloads and
error table.
"""
