//! Demo builder: Windows PowerShell scripts, macOS shell scripts and health (remediation) scripts.

use serde_json::{Map, json};

use crate::demo::generator::{TenantGen, b64};

pub(in crate::demo) fn scripts(t: &mut TenantGen) {
    let ps = [
        (
            "Set time zone",
            "Set-TimeZone -Id 'W. Europe Standard Time'\n",
        ),
        (
            "Remove consumer apps",
            "Get-AppxPackage *xbox* | Remove-AppxPackage -ErrorAction SilentlyContinue\n",
        ),
        (
            "Configure power plan",
            "powercfg /setactive SCHEME_BALANCED\n",
        ),
        (
            "Map network drives",
            "New-PSDrive -Name H -PSProvider FileSystem -Root \\\\files\\home -Persist\n",
        ),
        (
            "Enable BitLocker recovery escrow",
            "BackupToAAD-BitLockerKeyProtector -MountPoint $env:SystemDrive -KeyProtectorId ((Get-BitLockerVolume -MountPoint $env:SystemDrive).KeyProtector | Where-Object KeyProtectorType -eq 'RecoveryPassword').KeyProtectorId\n",
        ),
        (
            "Set OEM information",
            "Set-ItemProperty -Path 'HKLM:\\SOFTWARE\\Microsoft\\Windows\\CurrentVersion\\OEMInformation' -Name Manufacturer -Value 'ORG'\n",
        ),
        (
            "Disable Fast Startup",
            "Set-ItemProperty -Path 'HKLM:\\SYSTEM\\CurrentControlSet\\Control\\Session Manager\\Power' -Name HiberbootEnabled -Value 0\n",
        ),
        (
            "Install fonts",
            "Copy-Item .\\fonts\\*.ttf C:\\Windows\\Fonts\\\n",
        ),
    ];
    for (name, body) in ps {
        let id = t.g.guid();
        let created = t.g.time();
        let content = body.replace("ORG", &t.org);
        let assignments = t.plain_assignments();
        let obj = json!({
            "id": id,
            "displayName": name,
            "description": format!("{} – {name}", t.org),
            "scriptContent": b64(&content),
            "createdDateTime": created,
            "lastModifiedDateTime": created,
            "runAsAccount": if t.g.chance(0.7) { "system" } else { "user" },
            "enforceSignatureCheck": false,
            "fileName": format!("{}.ps1", name.to_lowercase().replace(' ', "-")),
            "roleScopeTagIds": ["0"],
            "runAs32Bit": false,
            "assignments": assignments,
        });
        t.push("deviceManagement/deviceManagementScripts", obj);
    }
    let sh = [
        (
            "Set hostname",
            "#!/bin/zsh\nscutil --set HostName \"$(ioreg -l | awk '/IOPlatformSerialNumber/ {print $4}' | tr -d '\"')\"\n",
        ),
        (
            "Install Rosetta",
            "#!/bin/bash\n/usr/sbin/softwareupdate --install-rosetta --agree-to-license\n",
        ),
        (
            "Dock layout",
            "#!/bin/zsh\ndefaults write com.apple.dock persistent-apps -array\nkillall Dock\n",
        ),
        (
            "Enable firewall stealth mode",
            "#!/bin/bash\n/usr/libexec/ApplicationFirewall/socketfilterfw --setstealthmode on\n",
        ),
        ("Report disk usage", "#!/bin/bash\ndf -h / | tail -1\n"),
    ];
    for (name, body) in sh {
        let id = t.g.guid();
        let created = t.g.time();
        let assignments = t.plain_assignments();
        let obj = json!({
            "id": id,
            "displayName": name,
            "description": format!("{} – {name}", t.org),
            "scriptContent": b64(body),
            "createdDateTime": created,
            "lastModifiedDateTime": created,
            "runAsAccount": "system",
            "fileName": format!("{}.sh", name.to_lowercase().replace(' ', "-")),
            "roleScopeTagIds": ["0"],
            "executionFrequency": "P1D",
            "retryCount": 3,
            "blockExecutionNotifications": true,
            "assignments": assignments,
        });
        t.push("deviceManagement/deviceShellScripts", obj);
    }
    let health = [
        (
            "Restart stopped Print Spooler",
            "if ((Get-Service Spooler).Status -ne 'Running') { exit 1 } else { exit 0 }\n",
            "Start-Service Spooler\n",
        ),
        (
            "Clear temp files",
            "if ((Get-ChildItem $env:TEMP -Recurse | Measure-Object Length -Sum).Sum -gt 1GB) { exit 1 }; exit 0\n",
            "Remove-Item $env:TEMP\\* -Recurse -Force -ErrorAction SilentlyContinue\n",
        ),
        (
            "Detect stale Group Policy cache",
            "exit 0\n",
            "gpupdate /force\n",
        ),
        (
            "Update stale Defender signatures",
            "if ((Get-MpComputerStatus).AntivirusSignatureAge -gt 3) { exit 1 }; exit 0\n",
            "Update-MpSignature\n",
        ),
        (
            "Reset Windows Update components",
            "exit 0\n",
            "net stop wuauserv; net start wuauserv\n",
        ),
        (
            "Enforce high-performance power plan",
            "exit 1\n",
            "powercfg /setactive SCHEME_MIN\n",
        ),
    ];
    for (name, detect, remediate) in health {
        let id = t.g.guid();
        let created = t.g.time();
        let assignments = t.assignments(|g| {
            let mut m = Map::new();
            m.insert("runRemediationScript".into(), json!(true));
            m.insert("runSchedule".into(), json!({"@odata.type": "#microsoft.graph.deviceHealthScriptDailySchedule", "interval": 1, "useUtc": false, "time": format!("{:02}:00:00", g.range(0, 23))}));
            m
        });
        let obj = json!({
            "id": id,
            "displayName": name,
            "description": format!("{} – {name}", t.org),
            "publisher": format!("{} IT", t.org),
            "version": "1",
            "runAs32Bit": false,
            "runAsAccount": "system",
            "enforceSignatureCheck": false,
            "detectionScriptContent": b64(detect),
            "remediationScriptContent": b64(remediate),
            "createdDateTime": created,
            "lastModifiedDateTime": created,
            "isGlobalScript": false,
            "highestAvailableVersion": null,
            "deviceHealthScriptType": "deviceHealthScript",
            "detectionScriptParameters": [],
            "remediationScriptParameters": [],
            "roleScopeTagIds": ["0"],
            "assignments": assignments,
        });
        t.push("deviceManagement/deviceHealthScripts", obj);
    }
}
