namespace Chat.Orleans.Bench.Suite;

/// <summary>One row of a scenario's table, in column order; the JSON line has the same fields.</summary>
public sealed class Row : Dictionary<string, object?>;
