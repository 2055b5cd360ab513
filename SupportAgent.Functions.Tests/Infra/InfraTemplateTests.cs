using System.Text.Json;
using System.Text.RegularExpressions;

namespace SupportAgent.Functions.Tests.Infra;

/// <summary>infra/main.bicep builds cleanly, and the files around it (parameters, azure.yaml) agree with it.</summary>
public sealed partial class InfraTemplateTests
{
    [Fact]
    public void The_bicep_builds_with_no_errors_and_no_linter_warnings()
    {
        var build = BicepCli.Main;

        Assert.True(build.ExitCode == 0, $"bicep build failed with exit code {build.ExitCode}:\n{build.Diagnostics}");
        // bicep build exits 0 on warnings: any diagnostic at all fails (scripts/check-infra.sh does the same in CI).
        Assert.True(string.IsNullOrWhiteSpace(build.Diagnostics), $"bicep build printed diagnostics:\n{build.Diagnostics}");
    }

    [Fact]
    public void The_parameters_file_names_only_declared_parameters_and_every_required_one()
    {
        var declared = BicepCli.Main.Template.GetProperty("parameters");
        using var file = JsonDocument.Parse(RepoFiles.Read("infra", "main.parameters.json"));
        var given = file.RootElement.GetProperty("parameters").EnumerateObject().Select(p => p.Name).ToHashSet();

        foreach (string name in given)
        {
            Assert.True(declared.TryGetProperty(name, out _), $"infra/main.parameters.json gives {name}, which infra/main.bicep does not declare.");
        }
        foreach (var parameter in declared.EnumerateObject())
        {
            if (!parameter.Value.TryGetProperty("defaultValue", out _))
            {
                Assert.True(given.Contains(parameter.Name), $"infra/main.bicep requires {parameter.Name}, but infra/main.parameters.json does not give it.");
            }
        }
    }

    [Fact]
    public void Easy_auth_is_on_whenever_appservice_mode_trusts_its_headers_unless_a_linked_static_web_app_owns_it_and_lets_unauthenticated_requests_reach_the_app()
    {
        var easyAuth = Assert.Single(ArmTemplate.Resources(BicepCli.Main.Template), r => ArmTemplate.IsSiteConfig(r, "authsettingsV2"));

        // X-MS-CLIENT-PRINCIPAL is only trustworthy where Easy Auth strips client-sent copies: appservice mode turns it on.
        string condition = easyAuth.GetProperty("condition").GetString()!;
        Assert.Contains("parameters('authMode')", condition, StringComparison.Ordinal);
        Assert.Contains("'appservice'", condition, StringComparison.Ordinal);
        // ...except behind the chat page's Static Web App, whose link configures the function app's authentication itself:
        // two writers of authsettingsV2 would drop the linked provider the principal comes through.
        Assert.Contains("not(parameters('deployChatPage'))", condition, StringComparison.Ordinal);
        // /api/chat (function key) must keep working, and /api/me answers 401 itself.
        Assert.True(ArmTemplate.TryGetPath(easyAuth, out var validation, "properties", "globalValidation"));
        Assert.False(validation.GetProperty("requireAuthentication").GetBoolean());
        Assert.Equal("AllowAnonymous", validation.GetProperty("unauthenticatedClientAction").GetString());
    }

    [Fact]
    public void The_function_app_is_flex_consumption_running_the_dotnet_version_the_project_targets()
    {
        string props = RepoFiles.Read("Directory.Build.props");
        var targetFramework = TargetFrameworkPattern().Match(props);
        Assert.True(targetFramework.Success, "Directory.Build.props names no netX.Y TargetFramework.");
        string dotnetVersion = targetFramework.Groups[1].Value;

        var template = BicepCli.Main.Template;
        var app = Assert.Single(ArmTemplate.FunctionApps(template));
        Assert.True(ArmTemplate.TryGetPath(app, out var runtime, "properties", "functionAppConfig", "runtime"), "The function app has no functionAppConfig.runtime.");
        Assert.Equal("dotnet-isolated", runtime.GetProperty("name").GetString());
        Assert.Equal(dotnetVersion, runtime.GetProperty("version").GetString());

        Assert.True(ArmTemplate.TryGetPath(app, out var authentication, "properties", "functionAppConfig", "deployment", "storage", "authentication", "type"));
        Assert.Equal("SystemAssignedIdentity", authentication.GetString());
        Assert.True(app.GetProperty("properties").GetProperty("httpsOnly").GetBoolean());
        Assert.Equal("1.2", app.GetProperty("properties").GetProperty("siteConfig").GetProperty("minTlsVersion").GetString());

        var plan = Assert.Single(ArmTemplate.Resources(template), r => ArmTemplate.IsOfType(r, "Microsoft.Web/serverfarms"));
        Assert.Equal("FC1", plan.GetProperty("sku").GetProperty("name").GetString());
        Assert.Equal("FlexConsumption", plan.GetProperty("sku").GetProperty("tier").GetString());

        var storage = Assert.Single(ArmTemplate.Resources(template), r => ArmTemplate.IsOfType(r, "Microsoft.Storage/storageAccounts"));
        Assert.False(storage.GetProperty("properties").GetProperty("allowSharedKeyAccess").GetBoolean());
        Assert.False(storage.GetProperty("properties").GetProperty("allowBlobPublicAccess").GetBoolean());
    }

    [Fact]
    public void Azure_yaml_deploys_the_functions_project_to_the_tagged_function_app()
    {
        string yaml = RepoFiles.Read("azure.yaml");
        var service = AzdServicePattern().Match(yaml);
        Assert.True(service.Success, "azure.yaml declares no service with project, language and host.");
        string serviceName = service.Groups["name"].Value;
        string project = service.Groups["project"].Value;

        Assert.Equal("function", service.Groups["host"].Value);
        Assert.Equal("dotnet", service.Groups["language"].Value);
        Assert.True(Directory.EnumerateFiles(RepoFiles.PathOf(project), "*.csproj").Any(), $"azure.yaml's project {project} holds no .csproj.");

        var app = Assert.Single(ArmTemplate.FunctionApps(BicepCli.Main.Template));
        string tags = app.GetProperty("tags").GetRawText();
        Assert.Contains($"'azd-service-name', '{serviceName}'", tags, StringComparison.Ordinal);
    }

    [Fact]
    public void The_chat_page_is_an_optional_static_web_app_whose_linked_backend_is_the_function_app()
    {
        var template = BicepCli.Main.Template;
        Assert.False(template.GetProperty("parameters").GetProperty("deployChatPage").GetProperty("defaultValue").GetBoolean());

        var module = Assert.Single(ArmTemplate.Resources(template),
            r => ArmTemplate.IsOfType(r, "Microsoft.Resources/deployments") && ArmTemplate.NameOf(r) == "chat-page");
        Assert.Contains("deployChatPage", module.GetProperty("condition").GetString());
        var nested = module.GetProperty("properties").GetProperty("template");
        var site = Assert.Single(ArmTemplate.Resources(nested), r => ArmTemplate.IsOfType(r, "Microsoft.Web/staticSites"));
        Assert.Equal("Standard", site.GetProperty("sku").GetProperty("name").GetString()); // linked backends need Standard
        var backend = Assert.Single(ArmTemplate.Resources(nested), r => ArmTemplate.IsOfType(r, "Microsoft.Web/staticSites/linkedBackends"));
        Assert.Contains("functionAppId", backend.GetProperty("properties").GetProperty("backendResourceId").GetString());
        string passed = module.GetProperty("properties").GetProperty("parameters").GetProperty("functionAppId").GetProperty("value").GetString()!;
        Assert.Contains("Microsoft.Web/sites", passed);

        // The page it serves: /api/me needs a signed-in user there, and the page's own files are what web/ holds.
        using var config = JsonDocument.Parse(RepoFiles.Read("web", "staticwebapp.config.json"));
        var route = Assert.Single(config.RootElement.GetProperty("routes").EnumerateArray());
        Assert.Equal("/api/me/*", route.GetProperty("route").GetString());
        Assert.Equal(["authenticated"], route.GetProperty("allowedRoles").EnumerateArray().Select(r => r.GetString()));
    }

    [GeneratedRegex(@"<TargetFramework>net(\d+\.\d+)</TargetFramework>")]
    private static partial Regex TargetFrameworkPattern();

    [GeneratedRegex(@"^services:\s*\n\s+(?<name>[\w-]+):\s*\n\s+project:\s*(?<project>\S+)\s*\n\s+language:\s*(?<language>\S+)\s*\n\s+host:\s*(?<host>\S+)", RegexOptions.Multiline)]
    private static partial Regex AzdServicePattern();
}
