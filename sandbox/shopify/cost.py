"""Calculated query cost and the leaky buckets that throttle the GraphQL and REST APIs.

Cost rules (a simplification of Shopify's, applied the same way everywhere):

- a scalar or enum field costs 0; an object field costs 1 plus its selections;
- a list of objects (e.g. `quantities`, `fulfillments`) costs like one object;
- a connection (`...Connection` type) costs 2 + `first` (or `last`) x (1 + the node's selections);
  `pageInfo`, `edges` and `cursor` are included in the 2;
- each root field of a mutation costs 10, whatever it selects;
- fragments are expanded; inline fragments on different types cost the most expensive one;
- the actual cost uses the number of nodes each connection really returned, so it is never
  above the requested cost; the difference is refunded to the bucket after the request;
- a document whose requested cost is above 1,000 is refused with MAX_COST_EXCEEDED.

Buckets: GraphQL `standard` 2,000 points restored at 100/s, `advanced` 4,000 at 200/s,
`plus` 20,000 at 1,000/s; REST 40 requests leaking 2/s (`advanced` 80 at 4/s, `plus` 400 at
20/s). Both run on the sandbox `Clock`, so a speed-up factor refills them faster.
"""

from __future__ import annotations

import math
import threading
from dataclasses import dataclass
from typing import Any

from graphql import (
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLObjectType,
    GraphQLSchema,
    InlineFragmentNode,
    OperationDefinitionNode,
    OperationType,
    SelectionSetNode,
    get_named_type,
    is_leaf_type,
)
from graphql.execution.values import get_argument_values

from sandbox.runtime import Clock

MUTATION_COST = 10
MAX_QUERY_COST = 1000


@dataclass(frozen=True)
class Plan:
    capacity: float
    restore_rate: float
    rest_capacity: float
    rest_rate: float


PLANS = {
    "standard": Plan(2000, 100, 40, 2),
    "advanced": Plan(4000, 200, 80, 4),
    "plus": Plan(20000, 1000, 400, 20),
}


class LeakyBucket:
    """`available` points, restored at `restore_rate` per simulated second up to `capacity`."""

    def __init__(self, capacity: float, restore_rate: float, clock: Clock) -> None:
        self.clock = clock
        self._lock = threading.Lock()
        self.capacity, self.restore_rate = float(capacity), float(restore_rate)
        self._available, self._at = self.capacity, clock.monotonic()

    def _refill(self) -> None:
        moment = self.clock.monotonic()
        self._available = min(self.capacity, self._available + (moment - self._at) * self.restore_rate)
        self._at = moment

    @property
    def available(self) -> float:
        with self._lock:
            self._refill()
            return self._available

    def take(self, amount: float) -> bool:
        """Spend `amount` if the bucket holds it; False (and nothing spent) otherwise."""
        with self._lock:
            self._refill()
            if amount > self._available:
                return False
            self._available -= amount
            return True

    def give_back(self, amount: float) -> None:
        with self._lock:
            self._refill()
            self._available = min(self.capacity, self._available + amount)

    def seconds_until(self, amount: float) -> float:
        """Real (wall-clock) seconds until `amount` is available."""
        with self._lock:
            self._refill()
            missing = max(0.0, amount - self._available)
        return missing / self.restore_rate / self.clock.factor

    def configure(self, *, capacity: float | None = None, restore_rate: float | None = None,
                  available: float | None = None) -> None:
        with self._lock:
            self._refill()
            if capacity is not None:
                self.capacity = float(capacity)
            if restore_rate is not None:
                self.restore_rate = float(restore_rate)
            self._available = min(self.capacity, float(available) if available is not None else self.capacity)

    def status(self) -> dict[str, float]:
        """Shopify's `throttleStatus`."""
        with self._lock:
            self._refill()
            return {"maximumAvailable": self.capacity, "currentlyAvailable": math.floor(self._available),
                    "restoreRate": self.restore_rate}


class CostCalculator:
    """Requested and actual cost of one operation (`variables` as `get_variable_values` coerced them)."""

    def __init__(self, schema: GraphQLSchema, operation: OperationDefinitionNode,
                 fragments: dict[str, FragmentDefinitionNode], variables: Any) -> None:
        self.schema, self.operation, self.fragments, self.variables = schema, operation, fragments, variables

    def _root(self) -> GraphQLObjectType:
        root = (self.schema.mutation_type if self.operation.operation == OperationType.MUTATION
                else self.schema.query_type)
        assert root is not None
        return root

    def requested(self) -> int:
        if self.operation.operation == OperationType.MUTATION:
            return MUTATION_COST * len(self._fields(self._root(), self.operation.selection_set))
        return self._selection_cost(self._root(), self.operation.selection_set, None)

    def actual(self, data: dict[str, Any] | None) -> int:
        if self.operation.operation == OperationType.MUTATION:
            return self.requested()
        return self._selection_cost(self._root(), self.operation.selection_set, data or {})

    def _fields(self, parent: Any, selection_set: SelectionSetNode | None) -> list[tuple[Any, FieldNode]]:
        """(parent type, field) pairs, with fragments expanded (last group wins per type)."""
        found: list[tuple[Any, FieldNode]] = []
        for selection in selection_set.selections if selection_set else ():
            if isinstance(selection, FieldNode):
                found.append((parent, selection))
            elif isinstance(selection, InlineFragmentNode):
                target = self.schema.get_type(selection.type_condition.name.value) \
                    if selection.type_condition else parent
                found.extend(self._fields(target or parent, selection.selection_set))
            elif isinstance(selection, FragmentSpreadNode):
                fragment = self.fragments.get(selection.name.value)
                if fragment:
                    target = self.schema.get_type(fragment.type_condition.name.value)
                    found.extend(self._fields(target or parent, fragment.selection_set))
        return found

    def _selection_cost(self, parent: Any, selection_set: SelectionSetNode | None, data: Any) -> int:
        by_type: dict[str, int] = {}
        for owner, node in self._fields(parent, selection_set):
            key = getattr(owner, "name", "")
            value = data.get((node.alias or node.name).value) if isinstance(data, dict) else None
            by_type[key] = by_type.get(key, 0) + self._field_cost(owner, node, value, data is not None)
        same = by_type.pop(getattr(parent, "name", ""), 0)
        return same + max(by_type.values(), default=0)

    def _field_cost(self, owner: Any, node: FieldNode, value: Any, actual: bool) -> int:
        name = node.name.value
        fields = getattr(owner, "fields", {})
        if name.startswith("__") or name not in fields:
            return 0
        definition = fields[name]
        named = get_named_type(definition.type)
        if is_leaf_type(named):
            return 0
        if named.name.endswith("Connection") and hasattr(named, "fields") and "pageInfo" in named.fields:
            return self._connection_cost(named, definition, node, value, actual)
        if actual and value is None:
            return 1
        if actual and isinstance(value, list):
            return 1 + max((self._selection_cost(named, node.selection_set, v) for v in value), default=0)
        return 1 + self._selection_cost(named, node.selection_set, value if actual else None)

    def _connection_cost(self, connection: Any, definition: Any, node: FieldNode, value: Any,
                         actual: bool) -> int:
        node_type = get_named_type(connection.fields["nodes"].type) if "nodes" in connection.fields else None
        node_sets: list[tuple[FieldNode, FieldNode | None]] = []
        for _, child in self._fields(connection, node.selection_set):
            if child.name.value == "nodes":
                node_sets.append((child, None))
            elif child.name.value == "edges":
                node_sets.extend((grandchild, child) for _, grandchild in
                                 self._fields(get_named_type(connection.fields["edges"].type), child.selection_set)
                                 if grandchild.name.value == "node")
        if not actual:
            try:
                args = get_argument_values(definition, node, self.variables)
            except Exception:  # invalid arguments are reported by execution, not here
                args = {}
            size = int(args.get("first") or args.get("last") or 0)
            per_node = max((self._selection_cost(node_type, n.selection_set, None) for n, _ in node_sets),
                           default=0)
            return 2 + size * (1 + per_node)
        total = 2
        for child, edges_node in node_sets:
            items = self._node_values(value, child, edges_node)
            total = max(total, 2 + sum(1 + self._selection_cost(node_type, child.selection_set, item)
                                       for item in items))
        return total

    @staticmethod
    def _node_values(value: Any, child: FieldNode, edges_node: FieldNode | None) -> list[Any]:
        if not isinstance(value, dict):
            return []
        if edges_node is None:
            return list(value.get((child.alias or child.name).value) or [])
        edges = value.get((edges_node.alias or edges_node.name).value) or []
        return [e.get((child.alias or child.name).value) for e in edges if isinstance(e, dict)]

