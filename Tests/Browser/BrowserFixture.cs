using Microsoft.Playwright;

namespace Chat.Orleans.Tests.Browser;

/// <summary>
/// A whole chat service (own PostgreSQL, real silo, real gateway) plus one Playwright driver and one
/// headless Chromium for a test class. Every test opens its own browser contexts (separate storage,
/// separate client address), so tests do not see each other.
/// </summary>
public sealed class BrowserFixture : ChatCluster
{
    /// <summary>Debian's Chromium; no browser is downloaded.</summary>
    public const string ChromiumPath = "/usr/bin/chromium";

    public static readonly ViewportSize Desktop = new() { Width = 1280, Height = 800 };

    public static readonly ViewportSize Phone = new() { Width = 390, Height = 844 };

    private static int _lastAddress;

    public IPlaywright Playwright { get; private set; } = null!;

    public IBrowser Browser { get; private set; } = null!;

    /// <summary>
    /// Where the screenshots go: next to the test assembly, or into the repository's docs/screenshots (linked
    /// from the README) when CHAT_SCREENSHOTS_TO_DOCS=1.
    /// </summary>
    public static string ScreenshotDirectory { get; } = Environment.GetEnvironmentVariable("CHAT_SCREENSHOTS_TO_DOCS") == "1"
        ? RepositoryPaths.Of("docs", "screenshots")
        : Path.Combine(AppContext.BaseDirectory, "screenshots");

    /// <summary>The gateways sign-in key (open mode: pages without a token chat as before).</summary>
    public const string SigningKey = "the-browser-tests-signing-key-of-32-bytes";

    public override async Task InitializeAsync()
    {
        // Waiting for the browser's auto-retrying assertions: generous, since a page may have to reconnect.
        Assertions.SetDefaultExpectTimeout(15_000);
        Directory.CreateDirectory(ScreenshotDirectory);
        await Task.WhenAll(base.InitializeAsync(), LaunchBrowserAsync());
    }

    public override async Task DisposeAsync()
    {
        try
        {
            if (Browser is not null)
            {
                await Browser.DisposeAsync();
            }

            Playwright?.Dispose();
        }
        finally
        {
            await base.DisposeAsync();
        }
    }

    /// <summary>
    /// A new page in a new browser context, on <paramref name="gateway"/> (the main one by default).
    /// Each context claims its own client address through X-Forwarded-For (loopback is a trusted
    /// proxy), so the per-IP rate limit of one page never holds back another.
    /// </summary>
    public async Task<ChatPage> OpenPageAsync(ViewportSize? viewport = null, ChatGateway? gateway = null, string? path = null, bool dark = false)
    {
        var baseUri = (gateway ?? Gateway).HttpUri;
        var phone = viewport is { Width: < 700 };
        var context = await Browser.NewContextAsync(new BrowserNewContextOptions
        {
            ViewportSize = viewport ?? Desktop,
            IsMobile = phone,
            HasTouch = phone,
            DeviceScaleFactor = phone ? 2 : 1,
            Locale = "en-US",
            ColorScheme = dark ? ColorScheme.Dark : ColorScheme.Light,
            ExtraHTTPHeaders = new Dictionary<string, string> { ["X-Forwarded-For"] = NewAddress() },
        });
        return await ChatPage.OpenAsync(context, new Uri(baseUri, path ?? "/"));
    }

    protected override void ConfigureGateway(IDictionary<string, string?> settings) => settings["Chat:Auth:SigningKeys:0"] = SigningKey;

    /// <summary>A client address of its own (from the benchmarking range 198.18.0.0/15, counted up so that no two pages share one).</summary>
    public static string NewAddress()
    {
        var n = Interlocked.Increment(ref _lastAddress);
        return $"198.18.{n / 250}.{n % 250 + 1}";
    }

    private async Task LaunchBrowserAsync()
    {
        Playwright = await Microsoft.Playwright.Playwright.CreateAsync();
        Browser = await Playwright.Chromium.LaunchAsync(new BrowserTypeLaunchOptions
        {
            ExecutablePath = ChromiumPath,
            Headless = true,
            Args =
            [
                "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                "--disable-background-networking", "--disable-component-update", "--disable-sync",
            ],
        });
    }
}
