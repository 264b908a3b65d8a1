using Chat.Orleans.Bench.Floor;
using Chat.Orleans.Bench.Load;
using Chat.Orleans.Bench.Suite;

// One program, three roles: the suite (default) starts PostgreSQL, the chat and the floor, and drives
// them with load workers, which are this program again; so is the floor server.
return args.FirstOrDefault() switch
{
    "floor" => await FloorServer.RunAsync(args[1..]),
    "load" => await LoadWorker.RunAsync(args[1..]),
    "suite" => await BenchSuite.RunAsync(args[1..]),
    null => await BenchSuite.RunAsync([]),
    var other => Usage(other),
};

static int Usage(string command)
{
    Console.Error.WriteLine($"unknown command '{command}'; usage: Chat.Orleans.Bench [suite [--smoke] [--out DIR] [--only NAME,...]] | floor --urls URL | load PLAN-JSON");
    return 2;
}
