using SupportAgent.SelfHost;

return await SelfHostApp.RunAsync(args);
