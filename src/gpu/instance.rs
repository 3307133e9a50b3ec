//! The Vulkan instance: the loader opened at run time, API 1.3, and, when
//! asked for, the Khronos validation layer with a messenger that keeps
//! every warning and error it reports.
//!
//! Opening the loader at run time (ash's `loaded` feature) is what lets one
//! binary start on a machine with no Vulkan at all: the failure is a
//! [`GpuError::NoLoader`] value, not a missing shared library at exec.

use std::ffi::{c_void, CStr};
use std::sync::Arc;

use ash::{ext::debug_utils, vk};
use parking_lot::Mutex;

use super::error::{GpuError, GpuResult, VkContext};

/// `VECFORGE_GPU_VALIDATION=1` turns the validation layer on (the tests
/// set it; CI installs `vulkan-validationlayers`).
pub const VALIDATION_ENV: &str = "VECFORGE_GPU_VALIDATION";
const VALIDATION_LAYER: &CStr = c"VK_LAYER_KHRONOS_validation";

/// Messages the validation layer reported, shared with its callback.
type Messages = Mutex<Vec<String>>;

impl std::fmt::Debug for Instance {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Instance")
            .field("validation", &self.debug.is_some())
            .finish_non_exhaustive()
    }
}

pub struct Instance {
    // Kept alive for the function pointers `instance` was loaded through.
    _entry: ash::Entry,
    pub(crate) raw: ash::Instance,
    debug: Option<(debug_utils::Instance, vk::DebugUtilsMessengerEXT)>,
    /// Boxed so the pointer handed to the callback stays put.
    messages: Arc<Messages>,
}

impl Instance {
    /// Opens the loader and creates a Vulkan 1.3 instance; with
    /// `validation`, also the validation layer, or an error if it is not
    /// installed (a test that asked for it must not pass without it).
    pub fn new(validation: bool) -> GpuResult<Arc<Instance>> {
        // SAFETY: loading libvulkan runs its initialisers; the Khronos
        // loader is designed to be opened this way and we call nothing
        // from it before `load` returns.
        let entry = unsafe { ash::Entry::load() }.map_err(|e| GpuError::NoLoader(e.to_string()))?;
        // SAFETY: `entry` holds valid global function pointers.
        let version = unsafe { entry.try_enumerate_instance_version() }
            .call("vkEnumerateInstanceVersion")?
            .unwrap_or(vk::API_VERSION_1_0);
        if version < vk::API_VERSION_1_3 {
            return Err(GpuError::Unsupported(format!(
                "the Vulkan loader supports {}, 1.3 is needed",
                version_string(version)
            )));
        }
        let mut layers = Vec::new();
        let mut extensions = Vec::new();
        if validation {
            // SAFETY: as above.
            let available = unsafe { entry.enumerate_instance_layer_properties() }
                .call("vkEnumerateInstanceLayerProperties")?;
            if !available
                .iter()
                .any(|layer| layer.layer_name_as_c_str() == Ok(VALIDATION_LAYER))
            {
                return Err(GpuError::Unsupported(
                    "VK_LAYER_KHRONOS_validation is not installed (Debian: vulkan-validationlayers)"
                        .to_owned(),
                ));
            }
            layers.push(VALIDATION_LAYER.as_ptr());
            extensions.push(debug_utils::NAME.as_ptr());
        }
        let app = vk::ApplicationInfo::default()
            .application_name(c"vecforge")
            .application_version(0)
            .engine_name(c"vecforge")
            .api_version(vk::API_VERSION_1_3);
        let info = vk::InstanceCreateInfo::default()
            .application_info(&app)
            .enabled_layer_names(&layers)
            .enabled_extension_names(&extensions);
        // SAFETY: `info` and everything it points to outlive the call.
        let raw = unsafe { entry.create_instance(&info, None) }.call("vkCreateInstance")?;
        let messages = Arc::new(Messages::default());
        let mut instance = Instance {
            _entry: entry,
            raw,
            debug: None,
            messages,
        };
        if validation {
            let loader = debug_utils::Instance::new(&instance._entry, &instance.raw);
            let info = vk::DebugUtilsMessengerCreateInfoEXT::default()
                .message_severity(
                    vk::DebugUtilsMessageSeverityFlagsEXT::WARNING
                        | vk::DebugUtilsMessageSeverityFlagsEXT::ERROR,
                )
                .message_type(
                    vk::DebugUtilsMessageTypeFlagsEXT::GENERAL
                        | vk::DebugUtilsMessageTypeFlagsEXT::VALIDATION
                        | vk::DebugUtilsMessageTypeFlagsEXT::PERFORMANCE,
                )
                .pfn_user_callback(Some(on_message))
                .user_data(Arc::as_ptr(&instance.messages) as *mut c_void);
            // SAFETY: the user data points into `messages`, an Arc this
            // instance owns and drops only after destroying the messenger.
            let messenger = unsafe { loader.create_debug_utils_messenger(&info, None) }
                .call("vkCreateDebugUtilsMessengerEXT")?;
            instance.debug = Some((loader, messenger));
        }
        Ok(Arc::new(instance))
    }

    /// Whether `VECFORGE_GPU_VALIDATION` asks for the validation layer.
    pub fn validation_requested() -> bool {
        std::env::var(VALIDATION_ENV).is_ok_and(|v| v == "1" || v == "true")
    }

    /// Whether the validation layer is on.
    pub fn validating(&self) -> bool {
        self.debug.is_some()
    }

    /// Every warning and error the validation layer has reported so far.
    pub fn validation_messages(&self) -> Vec<String> {
        self.messages.lock().clone()
    }
}

impl Drop for Instance {
    fn drop(&mut self) {
        // SAFETY: every device created from this instance holds an Arc to
        // it, so none is left; the messenger was created from it.
        unsafe {
            if let Some((loader, messenger)) = self.debug.take() {
                loader.destroy_debug_utils_messenger(messenger, None);
            }
            self.raw.destroy_instance(None);
        }
    }
}

/// The messenger callback: logs and keeps the message.
unsafe extern "system" fn on_message(
    severity: vk::DebugUtilsMessageSeverityFlagsEXT,
    _kind: vk::DebugUtilsMessageTypeFlagsEXT,
    data: *const vk::DebugUtilsMessengerCallbackDataEXT<'_>,
    user: *mut c_void,
) -> vk::Bool32 {
    // SAFETY: the layer passes valid callback data for the duration of the
    // call, and `user` is the `Messages` the instance keeps alive.
    let (text, messages) = unsafe {
        let text = (*data)
            .message_as_c_str()
            .map(|m| m.to_string_lossy().into_owned())
            .unwrap_or_default();
        (text, &*(user as *const Messages))
    };
    if severity.contains(vk::DebugUtilsMessageSeverityFlagsEXT::ERROR) {
        tracing::error!("Vulkan validation: {text}");
    } else {
        tracing::warn!("Vulkan validation: {text}");
    }
    messages.lock().push(text);
    vk::FALSE
}

/// `1.3.230` from a packed Vulkan version.
pub fn version_string(version: u32) -> String {
    format!(
        "{}.{}.{}",
        vk::api_version_major(version),
        vk::api_version_minor(version),
        vk::api_version_patch(version)
    )
}
