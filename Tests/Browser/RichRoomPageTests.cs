using Deque.AxeCore.Commons;
using Deque.AxeCore.Playwright;
using Microsoft.Playwright;
using Xunit.Abstractions;
using static Microsoft.Playwright.Assertions;

namespace Chat.Orleans.Tests.Browser;

/// <summary>
/// The page's rich-room controls in real Chromium against a real gateway (PROTOCOL.md, "Rich rooms"): the
/// lobby, typing, edits, reactions, presence, the moderator controls, accessibility (axe-core, the keyboard
/// alone), and the screenshots the README links.
/// </summary>
public sealed class RichRoomPageTests(BrowserFixture cluster, ITestOutputHelper output) : IClassFixture<BrowserFixture>
{
    private static string NewRoom() => "rich-" + Guid.NewGuid().ToString("N")[..10];

    private static string Token(string user, string name, string? role = null) =>
        Gateway.Auth.TokenMinter.Mint(BrowserFixture.SigningKey, new(user, name, role, null, TimeSpan.FromMinutes(30)));

    [Fact]
    public async Task The_lobby_lists_the_rooms_people_are_in_and_a_click_joins_one()
    {
        var room = NewRoom();
        await using var ann = await cluster.OpenPageAsync();
        await ann.JoinAsync("Ann", room);

        await using var bob = await cluster.OpenPageAsync();
        await bob.NameInput.FillAsync("Bob");
        var listed = bob.LobbyRooms.Filter(new() { HasText = "#" + room });

        // The directory is at most a report period old, and the lobby refreshes every 5 s.
        await Expect(listed).ToContainTextAsync("1 person", new() { Timeout = 20_000 });
        await listed.ClickAsync();
        await bob.WaitConnectedAsync();
        await bob.ExpectRosterAsync("Ann", "Bob");
        await ann.AssertNoErrorsAsync();
        await bob.AssertNoErrorsAsync();
    }

    [Fact]
    public async Task Typing_in_one_page_shows_on_the_other_and_a_message_ends_it()
    {
        var room = NewRoom();
        await using var ann = await cluster.OpenPageAsync();
        await ann.JoinAsync("Ann", room);
        await using var bob = await cluster.OpenPageAsync();
        await bob.JoinAsync("Bob", room);

        await ann.MessageInput.PressSequentiallyAsync("hel");
        await Expect(bob.Typing).ToHaveTextAsync("Ann is typing…");
        await Expect(ann.Typing).ToHaveTextAsync("");

        await ann.MessageInput.PressSequentiallyAsync("lo");
        await ann.MessageInput.PressAsync("Enter");
        await bob.ExpectMessagesAsync("hello");
        await Expect(bob.Typing).ToHaveTextAsync("");
        await bob.AssertNoErrorsAsync();
    }

    [Fact]
    public async Task A_verified_author_edits_with_the_control_and_with_the_up_arrow_and_the_other_page_shows_the_new_text()
    {
        var room = NewRoom();
        await using var ada = await cluster.OpenPageAsync(path: "/#token=" + Token("ada", "Ada"));
        await ada.JoinAsync("Ada", room);
        await using var bob = await cluster.OpenPageAsync();
        await bob.JoinAsync("Bob", room);

        await ada.SendAsync("helo wrold");
        await bob.ExpectMessagesAsync("helo wrold");

        // Bob (anonymous) has no edit control; Ada's own message has one.
        await Expect(bob.Page.Locator("#log .message-action", new() { HasText = "Edit" })).ToHaveCountAsync(0);
        await ada.Message("helo wrold").Locator(".message-action", new() { HasText = "Edit" }).ClickAsync();
        await Expect(ada.MessageInput).ToHaveValueAsync("helo wrold");
        await Expect(ada.Page.Locator("#editing")).ToBeVisibleAsync();
        await ada.MessageInput.FillAsync("hello world");
        await ada.MessageInput.PressAsync("Enter");
        await bob.ExpectMessagesAsync("hello world");
        await Expect(bob.Message("hello world").Locator(".edited")).ToHaveTextAsync("(edited)");

        // The Up arrow in the empty box edits the last own message; Escape would cancel.
        await ada.MessageInput.PressAsync("ArrowUp");
        await Expect(ada.MessageInput).ToHaveValueAsync("hello world");
        await ada.MessageInput.FillAsync("hello, world");
        await ada.MessageInput.PressAsync("Enter");
        await bob.ExpectMessagesAsync("hello, world");
        await ada.ExpectMessagesAsync("hello, world");
        await ada.MessageInput.PressAsync("ArrowUp");
        await ada.MessageInput.PressAsync("Escape");
        await Expect(ada.MessageInput).ToHaveValueAsync("");

        // A page that joins later sees the edited text.
        await using var carol = await cluster.OpenPageAsync();
        await carol.JoinAsync("Carol", room);
        await carol.ExpectMessagesAsync("hello, world");
        await Expect(carol.Message("hello, world").Locator(".edited")).ToBeVisibleAsync();
        await ada.AssertNoErrorsAsync();
        await bob.AssertNoErrorsAsync();
    }

    [Fact]
    public async Task Reactions_picked_on_one_page_count_on_the_other_and_toggle_off()
    {
        var room = NewRoom();
        await using var ann = await cluster.OpenPageAsync();
        await ann.JoinAsync("Ann", room);
        await using var bob = await cluster.OpenPageAsync();
        await bob.JoinAsync("Bob", room);
        await ann.SendAsync("react to this");
        await bob.ExpectMessagesAsync("react to this");

        await bob.Message("react to this").HoverAsync();
        await bob.Message("react to this").GetByRole(AriaRole.Button, new() { Name = "Add a reaction" }).ClickAsync();
        await bob.Message("react to this").GetByRole(AriaRole.Button, new() { Name = "React with 🎉" }).ClickAsync();

        var onAnn = ann.Message("react to this").Locator(".reaction");
        await Expect(onAnn).ToHaveTextAsync(["🎉1"]);
        await onAnn.ClickAsync();
        await Expect(onAnn).ToHaveTextAsync(["🎉2"]);
        await Expect(onAnn).ToHaveAttributeAsync("aria-pressed", "true");
        var onBob = bob.Message("react to this").Locator(".reaction");
        await Expect(onBob).ToHaveTextAsync(["🎉2"]);

        await onAnn.ClickAsync();
        await Expect(onBob).ToHaveTextAsync(["🎉1"]);
        await onBob.ClickAsync();
        await Expect(onAnn).ToHaveCountAsync(0);
        await ann.AssertNoErrorsAsync();
        await bob.AssertNoErrorsAsync();
    }

    [Fact]
    public async Task Presence_shows_one_entry_per_person_with_the_number_of_tabs()
    {
        var room = NewRoom();
        var token = Token("ada", "Ada");
        await using var tab1 = await cluster.OpenPageAsync(path: "/#token=" + token);
        await tab1.JoinAsync("Ada", room);
        await using var tab2 = await cluster.OpenPageAsync(path: "/#token=" + token);
        await tab2.JoinAsync("Ada", room);
        await using var bob = await cluster.OpenPageAsync();
        await bob.JoinAsync("Bob", room);

        var ada = bob.Roster.Filter(new() { HasText = "Ada" });
        await Expect(bob.Page.Locator("#roster.presence")).ToHaveCountAsync(1);
        await Expect(ada).ToHaveAttributeAsync("data-count", "2");
        await Expect(ada.Locator(".verified")).ToBeVisibleAsync();

        await tab2.DisposeAsync();
        await Expect(ada).ToHaveAttributeAsync("data-count", "1");
        await bob.AssertNoErrorsAsync();
    }

    [Fact]
    public async Task A_moderator_bans_from_the_roster_and_deletes_and_the_banned_page_stops()
    {
        var room = NewRoom();
        await using var mod = await cluster.OpenPageAsync(path: "/#token=" + Token("mod", "Mod", Gateway.Auth.ChatIdentity.Roles.Moderator));
        mod.Page.Dialog += (_, dialog) => dialog.AcceptAsync();
        await mod.JoinAsync("Mod", room);
        await using var eve = await cluster.OpenPageAsync(path: "/#token=" + Token("eve", "Eve"));
        await eve.JoinAsync("Eve", room);
        await eve.SendAsync("spam");
        await mod.ExpectMessagesAsync("spam");

        await mod.Message("spam").Locator(".message-action", new() { HasText = "Delete" }).ClickAsync();
        await eve.ExpectMessagesAsync();
        await mod.Roster.Filter(new() { HasText = "Eve" }).GetByRole(AriaRole.Button, new() { Name = "Ban" }).ClickAsync();
        await Expect(eve.Errors.Filter(new() { HasText = "You were banned from this room." })).ToHaveCountAsync(1);
        await Expect(eve.Status).ToHaveAttributeAsync("data-state", "disconnected");
        await Expect(mod.SystemLines.Filter(new() { HasText = "Eve was banned" })).ToHaveCountAsync(1);
        await mod.AssertNoErrorsAsync();
    }

    [Fact]
    public async Task The_join_screen_the_lobby_and_a_busy_room_have_no_serious_accessibility_violation()
    {
        var room = NewRoom();
        await using var ann = await cluster.OpenPageAsync();
        await ann.JoinAsync("Ann", room);
        await using var joiner = await cluster.OpenPageAsync();
        await Expect(joiner.LobbyRooms.Filter(new() { HasText = "#" + room })).ToHaveCountAsync(1, new() { Timeout = 20_000 });
        await AssertAccessibleAsync(joiner, "join screen and lobby");

        await using var ada = await cluster.OpenPageAsync(path: "/#token=" + Token("ada-a11y", "Ada", Gateway.Auth.ChatIdentity.Roles.Moderator));
        await ada.JoinAsync("Ada", room);
        await BusyRoomAsync(ann, ada);
        await AssertAccessibleAsync(ada, "busy room");
    }

    [Fact]
    public async Task Joining_posting_reacting_and_editing_work_with_the_keyboard_alone()
    {
        var room = NewRoom();
        await using var other = await cluster.OpenPageAsync();
        await other.JoinAsync("Other", room);

        await using var page = await cluster.OpenPageAsync(path: "/#token=" + Token("kim", "Kim"));
        var keyboard = page.Page.Keyboard;

        // The name field has the focus; Tab on to the room field (past the lobby's rooms, if any).
        await keyboard.TypeAsync("Kim");
        await TabUntilAsync(page, "room-input");
        await keyboard.TypeAsync(room);
        await keyboard.PressAsync("Enter");
        await page.WaitConnectedAsync();

        // The message box has the focus in the room.
        await keyboard.TypeAsync("typed with keys");
        await keyboard.PressAsync("Enter");
        await other.ExpectMessagesAsync("typed with keys");

        // Back from the box to the message's reaction button, open the menu, pick the first emoji.
        await TabUntilAsync(page, "react", backwards: true);
        await keyboard.PressAsync("Enter");
        await keyboard.PressAsync("Enter");
        await Expect(other.Message("typed with keys").Locator(".reaction")).ToHaveTextAsync(["👍1"]);

        // Forward to the box again; the Up arrow edits the last own message.
        await TabUntilAsync(page, "message-input");
        await keyboard.PressAsync("ArrowUp");
        await keyboard.PressAsync("End");
        await keyboard.TypeAsync(", edited");
        await keyboard.PressAsync("Enter");
        await other.ExpectMessagesAsync("typed with keys, edited");
        await page.AssertNoErrorsAsync();
    }

    [Fact]
    public async Task Screenshots_of_the_lobby_a_busy_room_and_the_moderator_view_in_both_themes_on_a_phone_and_a_desktop()
    {
        var room = NewRoom();
        await using var ann = await cluster.OpenPageAsync();
        await ann.JoinAsync("Ann", room);
        await using var ada = await cluster.OpenPageAsync(path: "/#token=" + Token("ada-shots", "Ada"));
        await ada.JoinAsync("Ada", room);
        await BusyRoomAsync(ann, ada);

        foreach (var dark in new[] { false, true })
        {
            foreach (var (viewport, device) in new[] { (BrowserFixture.Phone, "phone"), (BrowserFixture.Desktop, "desktop") })
            {
                var theme = dark ? "dark" : "light";
                await using (var lobby = await cluster.OpenPageAsync(viewport, dark: dark))
                {
                    await lobby.NameInput.FillAsync("Grace");
                    await Expect(lobby.LobbyRooms.Filter(new() { HasText = "#" + room })).ToHaveCountAsync(1, new() { Timeout = 20_000 });
                    await lobby.ScreenshotAsync($"lobby-{theme}-{device}");
                }

                await using (var viewer = await cluster.OpenPageAsync(viewport, dark: dark, path: "/#token=" + Token("bo-shots", "Bo")))
                {
                    await viewer.JoinAsync("Bo", room);
                    await ShowTypingAsync(ann, viewer);
                    await viewer.ScreenshotAsync($"room-{theme}-{device}");
                }

                await using (var moderator = await cluster.OpenPageAsync(viewport, dark: dark, path: "/#token=" + Token("mo-shots", "Mo", Gateway.Auth.ChatIdentity.Roles.Moderator)))
                {
                    await moderator.JoinAsync("Mo", room);
                    await ShowTypingAsync(ann, moderator);
                    await moderator.ScreenshotAsync($"moderator-{theme}-{device}");
                }
            }
        }

        output.WriteLine($"12 screenshots in {BrowserFixture.ScreenshotDirectory}");
        Assert.Equal(12, Directory.GetFiles(BrowserFixture.ScreenshotDirectory, "*-*-*.png").Count(f => Path.GetFileName(f).StartsWith("lobby-") || Path.GetFileName(f).StartsWith("room-") || Path.GetFileName(f).StartsWith("moderator-")));
    }

    /// <summary>A conversation with reactions, an edit and a verified name, as in a room people use.</summary>
    private static async Task BusyRoomAsync(ChatPage ann, ChatPage ada)
    {
        string[] lines = ["Morning all! Who's up for the design review at 10?", "Me. I'll bring the new onboarding flow.", "Great, I booked the big room 🎉", "Can we also look at the dark theme?", "Sure, screenshots are in the doc."];
        for (var i = 0; i < lines.Length; i++)
        {
            await (i % 2 == 0 ? ann : ada).SendAsync(lines[i]);
        }

        await ada.ExpectMessagesAsync(lines);
        await ada.Message("onboarding").Locator(".message-action", new() { HasText = "Edit" }).ClickAsync();
        await ada.MessageInput.FillAsync("Me. I'll bring the new onboarding flow and the numbers.");
        await ada.MessageInput.PressAsync("Enter");
        await ann.Message("and the numbers").WaitForAsync();

        foreach (var (page, text, emoji) in new[] { (ada, "design review", "👍"), (ann, "design review", "👍"), (ada, "big room", "🎉"), (ann, "dark theme", "❤️") })
        {
            var message = page.Message(text);
            await message.HoverAsync();
            await message.GetByRole(AriaRole.Button, new() { Name = "Add a reaction" }).ClickAsync();
            await message.GetByRole(AriaRole.Button, new() { Name = $"React with {emoji}" }).ClickAsync();
        }

        await Expect(ann.Message("design review").Locator(".reaction")).ToHaveTextAsync(["👍2"]);
        await Expect(ann.Message("dark theme").Locator(".reaction")).ToHaveTextAsync(["❤️1"]);
    }

    /// <summary>Ann types until <paramref name="viewer"/> shows it (hints are throttled to one per 3 s).</summary>
    private static async Task ShowTypingAsync(ChatPage ann, ChatPage viewer)
    {
        for (var attempt = 0; ; attempt++)
        {
            await ann.MessageInput.PressSequentiallyAsync("a");
            try
            {
                await Expect(viewer.Typing).ToHaveTextAsync("Ann is typing…", new() { Timeout = 1500 });
                return;
            }
            catch (PlaywrightException) when (attempt < 5)
            {
            }
        }
    }

    private static async Task TabUntilAsync(ChatPage page, string idOrClass, bool backwards = false)
    {
        for (var i = 0; i < 40; i++)
        {
            await page.Page.Keyboard.PressAsync(backwards ? "Shift+Tab" : "Tab");
            var focused = await page.Page.EvaluateAsync<string>("() => document.activeElement.id + ' ' + document.activeElement.className");
            if (focused.Split(' ').Contains(idOrClass) || focused.Split(' ').Contains(idOrClass + "-button"))
            {
                return;
            }
        }

        throw new InvalidOperationException($"Tab never reached {idOrClass}");
    }

    private async Task AssertAccessibleAsync(ChatPage page, string what)
    {
        var results = await page.Page.RunAxe();
        foreach (var violation in results.Violations)
        {
            output.WriteLine($"{what}: axe {violation.Impact} {violation.Id}: {violation.Help} ({violation.Nodes.Length} nodes: {string.Join("; ", violation.Nodes.Take(6).Select(n => $"{n.Target} {string.Join(",", n.Any.Select(c => c.Message))}"))})");
        }

        Assert.DoesNotContain(results.Violations, v => v.Impact is "serious" or "critical");
        output.WriteLine($"{what}: {results.Violations.Length} violations, none serious or critical; {results.Passes.Length} rules passed");
    }
}
