using System.Text.Json;
using Microsoft.Playwright;
using static Microsoft.Playwright.Assertions;

namespace Chat.Orleans.Tests.Browser;

/// <summary>
/// The chat page in a browser tab of its own context, as a user drives it (typing, clicking), with
/// what went wrong on the page recorded: console errors, uncaught exceptions, CSP violations.
/// </summary>
public sealed class ChatPage : IAsyncDisposable
{
    /// <summary>
    /// Runs before the page's own script: records CSP violations and every state the status badge
    /// goes through. (Init scripts are injected by the browser, so the page's CSP does not apply.)
    /// </summary>
    private const string ProbeScript = """
        (() => {
          window.__cspViolations = [];
          document.addEventListener('securitypolicyviolation', (e) =>
            window.__cspViolations.push(e.violatedDirective + ' blocked ' + (e.blockedURI || 'inline')));
          window.__statusStates = [];
          document.addEventListener('DOMContentLoaded', () => {
            const status = document.getElementById('status');
            if (!status) return;
            const record = () => {
              const state = status.dataset.state;
              if (window.__statusStates[window.__statusStates.length - 1] !== state) window.__statusStates.push(state);
            };
            new MutationObserver(record).observe(status, { attributes: true, attributeFilter: ['data-state'] });
          });
        })();
        """;

    private readonly List<string> _consoleErrors = [];
    private readonly List<string> _pageErrors = [];
    private bool _closed;

    private ChatPage(IBrowserContext context, IPage page)
    {
        Context = context;
        Page = page;
        page.Console += (_, message) =>
        {
            if (message.Type == "error")
            {
                lock (_consoleErrors)
                {
                    _consoleErrors.Add(message.Text);
                }
            }
        };
        page.PageError += (_, error) =>
        {
            lock (_pageErrors)
            {
                _pageErrors.Add(error);
            }
        };
        page.WebSocket += (_, socket) =>
        {
            lock (WebSockets)
            {
                WebSockets.Add(socket);
            }
        };
    }

    public IBrowserContext Context { get; }

    public IPage Page { get; }

    /// <summary>The response to the page's own URL (its headers carry the CSP).</summary>
    public IResponse? Response { get; private set; }

    /// <summary>Every WebSocket the page opened, in order.</summary>
    public List<IWebSocket> WebSockets { get; } = [];

    public ILocator Status => Page.Locator("#status");

    public ILocator NameInput => Page.Locator("#name-input");

    public ILocator RoomInput => Page.Locator("#room-input");

    public ILocator MessageInput => Page.Locator("#message-input");

    /// <summary>Chat messages in the log (not system lines, not errors).</summary>
    public ILocator Messages => Page.Locator("#log .message");

    public ILocator MessageTexts => Page.Locator("#log .message .message-text");

    public ILocator Roster => Page.Locator("#roster li");

    public ILocator Errors => Page.Locator("#log .error");

    public ILocator SystemLines => Page.Locator("#log .system");

    /// <summary>The "… is typing" line.</summary>
    public ILocator Typing => Page.Locator("#typing");

    /// <summary>The lobby's rooms on the join screen.</summary>
    public ILocator LobbyRooms => Page.Locator("#room-list .room-link");

    /// <summary>One message of the log, by its text.</summary>
    public ILocator Message(string text) => Messages.Filter(new LocatorFilterOptions { HasText = text });

    public static async Task<ChatPage> OpenAsync(IBrowserContext context, Uri uri)
    {
        await context.AddInitScriptAsync(ProbeScript);
        var page = await context.NewPageAsync();
        var chatPage = new ChatPage(context, page);
        chatPage.Response = await page.GotoAsync(uri.ToString(), new PageGotoOptions { WaitUntil = WaitUntilState.Load });
        return chatPage;
    }

    /// <summary>Types a name and a public room name, joins, and waits for the welcome.</summary>
    public async Task JoinAsync(string name, string room)
    {
        await NameInput.FillAsync(name);
        await RoomInput.FillAsync(room);
        await Page.Locator("#join-button").ClickAsync();
        await WaitConnectedAsync();
    }

    /// <summary>On a page opened with a room in its URL fragment (an invite): only the name is asked.</summary>
    public async Task JoinInvitedAsync(string name)
    {
        await Expect(RoomInput).ToBeHiddenAsync();
        await NameInput.FillAsync(name);
        await Page.Locator("#join-button").ClickAsync();
        await WaitConnectedAsync();
    }

    public async Task WaitConnectedAsync()
    {
        await Expect(Status).ToHaveAttributeAsync("data-state", "connected");
        await Expect(SystemLines.Filter(new LocatorFilterOptions { HasText = "Welcome to" })).ToHaveCountAsync(1);
    }

    /// <summary>Types a message and presses Enter; waits until the page has sent it (the box is emptied).</summary>
    public async Task SendAsync(string text)
    {
        await MessageInput.FillAsync(text);
        await MessageInput.PressAsync("Enter");
        await Expect(MessageInput).ToHaveValueAsync("");
    }

    /// <summary>Types a message and presses Enter, without waiting for anything.</summary>
    public async Task TypeAndEnterAsync(string text)
    {
        await MessageInput.FillAsync(text);
        await MessageInput.PressAsync("Enter");
    }

    /// <summary>Waits until the log shows exactly these message texts, in this order.</summary>
    public Task ExpectMessagesAsync(params string[] texts) =>
        texts.Length == 0 ? Expect(Messages).ToHaveCountAsync(0) : Expect(MessageTexts).ToHaveTextAsync(texts);

    /// <summary>Waits until the roster shows exactly these names (the page sorts them).</summary>
    public Task ExpectRosterAsync(params string[] names) => Expect(Roster).ToHaveTextAsync(names);

    /// <summary>The log's chat messages as (name, text), read from the DOM as a user sees them.</summary>
    public async Task<List<(string Name, string Text)>> ReadMessagesAsync()
    {
        var json = await Page.EvaluateAsync<string>("""
            () => JSON.stringify([...document.querySelectorAll('#log .message')].map((m) => [
              m.querySelector('.message-name').textContent, m.querySelector('.message-text').textContent]))
            """);
        return JsonSerializer.Deserialize<string[][]>(json)!.Select(pair => (pair[0], pair[1])).ToList();
    }

    /// <summary>Every state the status badge went through since the page loaded.</summary>
    public Task<string[]> StatusStatesAsync() => Page.EvaluateAsync<string[]>("() => window.__statusStates");

    public Task<string[]> CspViolationsAsync() => Page.EvaluateAsync<string[]>("() => window.__cspViolations");

    public async Task ScreenshotAsync(string name)
    {
        // The mouse stays where it last clicked; move it off the page so that no hover style shows.
        await Page.Mouse.MoveAsync(0, 0);
        await Page.ScreenshotAsync(new PageScreenshotOptions
        {
            Path = Path.Combine(BrowserFixture.ScreenshotDirectory, name + ".png"),
            FullPage = true,
            Animations = ScreenshotAnimations.Disabled,
            Caret = ScreenshotCaret.Hide,
        });
    }

    /// <summary>
    /// No uncaught exception, no CSP violation, no console error. A page whose server went away
    /// logs its failed WebSocket attempts as console errors (the browser does that, not the page):
    /// <paramref name="allowFailedWebSockets"/> tolerates those and nothing else.
    /// </summary>
    public async Task AssertNoErrorsAsync(bool allowFailedWebSockets = false)
    {
        Assert.Empty(await CspViolationsAsync());
        lock (_pageErrors)
        {
            Assert.Empty(_pageErrors);
        }

        lock (_consoleErrors)
        {
            var errors = allowFailedWebSockets
                ? _consoleErrors.Where(e => !(e.StartsWith("WebSocket connection to", StringComparison.Ordinal) && e.Contains("failed", StringComparison.Ordinal))).ToList()
                : _consoleErrors;
            Assert.Empty(errors);
        }
    }

    /// <summary>Closes the tab and its context, as a user closing the browser would; idempotent.</summary>
    public async ValueTask DisposeAsync()
    {
        if (!_closed)
        {
            _closed = true;
            await Context.CloseAsync();
        }
    }
}
