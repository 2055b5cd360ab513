using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using SupportAgent.Functions.Configuration;
using SupportAgent.Functions.Limits;

namespace SupportAgent.Functions.Tests.Limits;

public sealed class LimitOptionsTests
{
    private static LimitOptions Resolve(Dictionary<string, string?> settings)
    {
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(settings).Build();
        using var services = new ServiceCollection().AddSupportAgent(configuration).BuildServiceProvider();
        return services.GetRequiredService<IOptions<LimitOptions>>().Value;
    }

    [Fact]
    public void By_default_twenty_requests_a_minute_and_no_token_quota()
    {
        var o = Resolve([]);
        Assert.Equal(20, o.RequestsPerMinute);
        Assert.Equal(0, o.TokensPerDay);
        Assert.True(o.Enabled);
    }

    [Fact]
    public void Zero_turns_both_off()
    {
        var o = Resolve(new() { [SettingNames.UserRequestsPerMinute] = "0", [SettingNames.UserTokensPerDay] = "0" });
        Assert.False(o.Enabled);
    }

    [Theory]
    [InlineData(SettingNames.UserRequestsPerMinute, "-1")]
    [InlineData(SettingNames.UserTokensPerDay, "-5")]
    public void A_negative_limit_is_refused_naming_the_setting(string setting, string value)
    {
        var ex = Assert.Throws<OptionsValidationException>(() => Resolve(new() { [setting] = value }));
        Assert.Contains(setting, ex.Message);
    }
}
