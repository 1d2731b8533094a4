using System.Diagnostics;
using Microsoft.Playwright;
using ModelGen.TestSupport;

namespace ModelGen.Server.Tests;

/// <summary>
/// The chat page in a real headless browser: Debian's chromium (fetched into .cache/chromium by eng/fetch-chromium.sh,
/// not installed) driven by Playwright, whose driver ships in its package and runs offline.
/// </summary>
public sealed class ChatPageTests
{
    private static readonly Lazy<string> Chromium = new(FetchChromium);

    /// <summary>The chromium wrapper script, fetched on first use: the download happens once per machine.</summary>
    private static string FetchChromium()
    {
        var cache = Path.Combine(SharedData.RepositoryRoot, ".cache", "chromium");
        using var fetch = Process.Start(new ProcessStartInfo("bash", [Path.Combine(SharedData.RepositoryRoot, "eng", "fetch-chromium.sh"), cache])
        {
            RedirectStandardError = true,
        })!;
        var errors = fetch.StandardError.ReadToEndAsync();
        Assert.True(fetch.WaitForExit(TimeSpan.FromMinutes(10)), "eng/fetch-chromium.sh did not finish in 10 minutes");
        Assert.True(fetch.ExitCode == 0, $"eng/fetch-chromium.sh failed: {errors.Result}");
        return Path.Combine(cache, "chromium");
    }

    [Fact]
    public async Task Typing_a_message_streams_the_reply_and_stop_ends_it()
    {
        // 50 ms a step: a reply that fills the context takes about 5 s, time to see it stream and press stop.
        await using var host = await ServerHost.StartAsync(parallel: 1, stepDelay: TimeSpan.FromMilliseconds(50), endless: true);
        using var playwright = await Playwright.CreateAsync();
        await using var browser = await playwright.Chromium.LaunchAsync(new BrowserTypeLaunchOptions
        {
            ExecutablePath = Chromium.Value,
            Headless = true,
            Timeout = 60_000,
        });
        var page = await browser.NewPageAsync();
        await page.GotoAsync(host.Url.ToString());
        await Assertions.Expect(page.Locator("#model-name")).ToHaveTextAsync(host.ModelName);
        await Assertions.Expect(page.Locator("#stop")).ToBeDisabledAsync();

        await page.Locator("#input").FillAsync("Tell me a long story");
        await page.Locator("#send").ClickAsync();
        await Assertions.Expect(page.Locator(".message.user")).ToHaveTextAsync("Tell me a long story");
        var reply = page.Locator(".message.assistant");
        await Assertions.Expect(page.Locator("#stop")).ToBeEnabledAsync();
        await page.WaitForFunctionAsync("() => document.querySelector('.message.assistant').textContent.length > 0");
        var early = await reply.TextContentAsync();
        // Streamed: the text grows while the reply runs.
        await page.WaitForFunctionAsync($"n => document.querySelector('.message.assistant').textContent.length > n", early!.Length);

        await page.Locator("#stop").ClickAsync();
        await Assertions.Expect(reply).ToHaveClassAsync(new System.Text.RegularExpressions.Regex("stopped"));
        await Assertions.Expect(page.Locator("#send")).ToBeEnabledAsync();
        await Assertions.Expect(page.Locator("#stop")).ToBeDisabledAsync();
        var stopped = await reply.TextContentAsync();
        Assert.StartsWith(early, stopped, StringComparison.Ordinal);

        // Stopping aborted the request: the server freed the slot long before the reply would have filled the context.
        await host.WaitUntilIdleAsync(TimeSpan.FromSeconds(10));
        Assert.InRange(host.ForwardCalls, 2, Expected.StepsToFillContext("Tell me a long story") - 20);
        await Task.Delay(200);
        Assert.Equal(stopped, await reply.TextContentAsync());
        Assert.Equal("idle", await page.Locator("body").GetAttributeAsync("data-state"));
    }
}
