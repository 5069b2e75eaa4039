# Loaded by moto_server's Python when devstack starts it with PTHV_MOTO_PARTITION_QUERY set
# (see internal/devstack/moto.go). moto 5 answers a DynamoDB Query by sorting every item of
# the table (Table.all_items), whatever the key, so a Query costs the table's size; with many
# districts in one table (make load) that is what the load measures. Here a Query on the
# table's own key (no index) reads only that partition. Its answer is the same: the partition's
# items are what moto's query keeps of the table anyway, in the same order.
import sys
import threading

try:
    from moto.dynamodb.models import table as _table
except Exception:  # not moto's Python: nothing to patch
    _table = None

if _table is not None:
    _local = threading.local()  # moto_server is threaded: the partition is per request
    _all_items = _table.Table.all_items
    _query = _table.Table.query

    def all_items(self):
        parts = getattr(_local, "parts", None)
        if not parts or id(self) not in parts:
            return _all_items(self)
        part = parts[id(self)]
        if part not in self.items:  # a defaultdict: a lookup would add the key
            return []
        items = list(self.items[part].values()) if self.range_key_attr else [self.items[part]]
        return sorted(items, key=lambda x: (x.hash_key, x.range_key) if x.range_key else x.hash_key)

    def query(self, hash_key, *args, **kwargs):
        index_name = args[6] if len(args) > 6 else kwargs.get("index_name")
        if index_name or hash_key is None:
            return _query(self, hash_key, *args, **kwargs)
        if not hasattr(_local, "parts"):
            _local.parts = {}
        _local.parts[id(self)] = hash_key
        try:
            return _query(self, hash_key, *args, **kwargs)
        finally:
            del _local.parts[id(self)]

    _table.Table.all_items = all_items
    _table.Table.query = query
    print("pthv: moto answers a Query from its partition only", file=sys.stderr, flush=True)
