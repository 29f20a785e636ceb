# Copyright (c) mmfer contributors. All rights reserved.
