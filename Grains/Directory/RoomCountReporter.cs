using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Chat.Orleans.Grains.Directory;

/// <summary>
/// Reports this silo's rooms to the rooms directory on a timer: one call per silo per period, whatever
/// the number of rooms, and no room is asked anything.
/// </summary>
public sealed partial class RoomCountReporter(
    LocalRooms rooms,
    IGrainFactory grains,
    ILocalSiloDetails silo,
    IOptions<DirectoryOptions> options,
    ILogger<RoomCountReporter> logger) : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var directory = grains.GetGrain<IRoomDirectoryGrain>(0);
        var name = silo.SiloAddress.ToParsableString();
        using var timer = new PeriodicTimer(options.Value.ReportPeriod);
        while (await timer.WaitForNextTickAsync(stoppingToken))
        {
            try
            {
                await directory.Report(name, rooms.Snapshot());
            }
            catch (Exception exception) when (!stoppingToken.IsCancellationRequested)
            {
                // The directory may be moving with its silo; the next report fills it again.
                LogReportFailed(logger, exception);
            }
        }
    }

    [LoggerMessage(EventId = 1201, Level = LogLevel.Debug, Message = "Reporting this silo's rooms to the directory failed")]
    private static partial void LogReportFailed(ILogger logger, Exception exception);
}
